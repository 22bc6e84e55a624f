"""Forecasting benchmark: a whole ``python -m forecasting`` run on 60 series x 1440 buckets.

The run is everything ``make forecast`` does: read the forecast input from DuckDB, prepare the
series, nested rolling cross-validation (6 validation + 4 test windows, 80/95 % intervals in
every window), scoring and the choice, the final forecast with 80/95 % intervals, and the
transactional append of the run. Figures (medians of 3 runs), all on the same generated grid
in the same process:

- wall time with the default settings (baselines + AutoETS, every core); baseline: the
  baselines-only model set (``--models none``) in the same settings, the floor any model set pays;
- the default settings against the same run in one process (``n_jobs=1``).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

from bench.result import BenchResult, median_seconds
from extract.timeutil import utc_now
from forecasting.config import ForecastConfig
from forecasting.pipeline import run_forecast
from tests.forecasting.forecast_grid_factory import GridSeries, random_walk, write_grid

SERIES_AT_SCALE_1 = 60
POINTS_PER_SERIES = 1440
RUNS = 3
GOAL = "< 30 s for 60 series x 1440 points with nested cross-validation, default model set"


def _write_grid(path: Path, n_series: int) -> None:
    exchanges = ("binance", "kraken", "coinbase", "okx")
    series = [
        GridSeries(
            exchanges[index % len(exchanges)],
            f"C{index:03d}/USDT",
            random_walk(POINTS_PER_SERIES, seed=index, start=100.0 + index, step_sd=0.05),
        )
        for index in range(n_series)
    ]
    write_grid(path, series)


def _timed_run(config: ForecastConfig) -> float:
    def action() -> None:
        summary = run_forecast(config, utc_now())
        if summary.series_forecast == 0:
            raise RuntimeError("the benchmark grid produced no forecast")

    return median_seconds(action, runs=RUNS)


def run(scale: float = 1.0) -> list[BenchResult]:
    n_series = max(1, round(SERIES_AT_SCALE_1 * scale))
    with tempfile.TemporaryDirectory(prefix="bench-forecast-") as scratch:
        path = Path(scratch) / "build.duckdb"
        _write_grid(path, n_series)
        default = replace(ForecastConfig(), duckdb_path=path)
        baselines_seconds = _timed_run(replace(default, models=()))
        default_seconds = _timed_run(default)
        one_process_seconds = _timed_run(replace(default, n_jobs=1))

    size = f"{n_series} series x {POINTS_PER_SERIES} points"
    models = ",".join(ForecastConfig().model_names)
    return [
        BenchResult(
            benchmark="forecast",
            metric=f"wall time, {size}, nested 6+4-window CV + forecast + write ({models})",
            unit="s",
            value=default_seconds,
            baseline_name="baselines only (Naive, SeasonalNaive, WindowAverage)",
            baseline_value=baselines_seconds,
            higher_is_better=False,
            runs=RUNS,
            goal=GOAL,
            notes=f"n_jobs={default.n_jobs}; the ratio is the price of AutoETS over the baselines",
        ),
        BenchResult(
            benchmark="forecast",
            metric=f"wall time, {size}, default settings (n_jobs={default.n_jobs})",
            unit="s",
            value=default_seconds,
            baseline_name="the same run in one process (n_jobs=1)",
            baseline_value=one_process_seconds,
            higher_is_better=False,
            runs=RUNS,
            goal=GOAL,
        ),
    ]
