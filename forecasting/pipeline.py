"""One forecasting run, stage by stage: load, prepare, cross-validate, score, forecast, write.

Each stage logs one line with its counts and seconds. Statistical work runs on all usable
series at once; if statsforecast raises, the stage is retried series by series so one bad series
is recorded as ``fit_failed`` instead of failing the run.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from forecasting import warehouse
from forecasting.config import ForecastConfig
from forecasting.evaluate import cross_validate, score_models
from forecasting.models import ModelSettings, build_models
from forecasting.output import EMPTY_FORECASTS, EMPTY_METRICS, build_output, typed_empty
from forecasting.predict import fit_and_forecast, nest_and_widen, to_long
from forecasting.series import PreparedSeries, SeriesInfo, SkippedSeries, prepare_series

log = logging.getLogger("forecasting")


@dataclass(frozen=True)
class RunSummary:
    """Counts of one run; ``written`` is False when the grid was empty and nothing was replaced."""

    run_id: str
    series_in_grid: int
    series_forecast: int
    series_skipped: int
    forecast_rows: int
    metric_rows: int
    chosen_by_model: tuple[tuple[str, int], ...]
    seconds: float
    written: bool


@contextmanager
def _stage(name: str, counts: dict[str, object]) -> Iterator[None]:
    """Log ``stage=<name> <counts...> seconds=<s>`` once the block is done (counts filled in it)."""
    started = time.perf_counter()
    yield
    fields = " ".join(f"{key}={value}" for key, value in counts.items())
    log.info("stage=%s %s seconds=%.2f", name, fields, time.perf_counter() - started)


def new_run_id(created_at_utc: datetime) -> str:
    return f"{created_at_utc:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def isolating_failures(
    action: Callable[[pd.DataFrame], pd.DataFrame], frame: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, str]]:
    """``action(frame)``; if it raises, run it per series and return the failures by unique_id."""
    try:
        return action(frame), {}
    except Exception as batch_error:  # statsforecast raises anything from numerical code
        log.warning("stage failed on the whole batch (%s): retrying series by series", batch_error)
    results: list[pd.DataFrame] = []
    failures: dict[str, str] = {}
    for unique_id, rows in frame.groupby("unique_id", sort=True):
        try:
            results.append(action(rows.reset_index(drop=True)))
        except Exception as error:
            failures[str(unique_id)] = f"{type(error).__name__}: {error}"
    return (pd.concat(results, ignore_index=True) if results else pd.DataFrame()), failures


def _record_failures(
    failures: dict[str, str],
    series: dict[str, SeriesInfo],
    skipped: list[SkippedSeries],
    stage: str,
) -> None:
    for unique_id, error in failures.items():
        info = series.pop(unique_id)
        log.warning(
            "skipped exchange=%s symbol=%s reason=fit_failed stage=%s error=%r",
            info.exchange_id,
            info.symbol,
            stage,
            error,
        )
        skipped.append(
            SkippedSeries(
                info.exchange_id, info.symbol, "fit_failed", f"{stage}: {error}", info.n_points
            )
        )


def _model_series(
    prepared: PreparedSeries,
    series: dict[str, SeriesInfo],
    skipped: list[SkippedSeries],
    config: ForecastConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-validate, score and forecast; (forecasts, metrics). Failed series move to skipped."""
    frame = prepared.frame
    model_names = config.model_names
    models: list[Any] = build_models(
        model_names,
        ModelSettings(
            season_length=config.season_length,
            window_size=config.window_size,
            horizon=config.horizon,
            conformal_windows=config.conformal_windows,
        ),
    )
    counts: dict[str, object] = {}
    with _stage("cross_validation", counts):
        cv, failures = isolating_failures(lambda rows: cross_validate(rows, models, config), frame)
        _record_failures(failures, series, skipped, "cross_validation")
        counts.update(
            series=len(series),
            models=len(model_names),
            validation_windows=config.validation_windows,
            test_windows=config.test_windows,
            horizon=config.horizon,
            failed=len(failures),
        )
    if not series:
        return typed_empty(EMPTY_FORECASTS), typed_empty(EMPTY_METRICS)
    frame = frame[frame["unique_id"].isin(series)]

    counts = {}
    with _stage("score", counts):
        metrics = score_models(cv, frame, prepared.actuals, model_names, config)
        chosen = metrics[metrics["is_chosen"]]
        counts.update(
            rows=len(metrics),
            chosen=_counts_text(Counter(chosen["model"])),
            chosen_uncalibrated=int((~chosen["is_calibrated"]).sum()),
            chosen_test_coverage_80=f"{chosen['coverage_80'].mean():.3f}",
            chosen_test_coverage_95=f"{chosen['coverage_95'].mean():.3f}",
        )

    counts = {}
    with _stage("forecast", counts):
        wide, failures = isolating_failures(
            lambda rows: fit_and_forecast(rows, models, config), frame
        )
        _record_failures(failures, series, skipped, "forecast")
        if not series:
            return typed_empty(EMPTY_FORECASTS), metrics
        result = nest_and_widen(to_long(wide, model_names))
        counts.update(
            rows=len(result.frame),
            intervals_adjusted=result.rows_adjusted,
            non_finite_dropped=result.rows_dropped,
            failed=len(failures),
        )
    return result.frame, metrics


def _counts_text(counter: Counter[str]) -> str:
    return ",".join(f"{key}:{count}" for key, count in sorted(counter.items())) or "none"


def run_forecast(config: ForecastConfig, created_at_utc: datetime) -> RunSummary:
    """Run every stage against the warehouse of ``config.target``; raises
    warehouse.WarehouseError."""
    started = time.perf_counter()
    run_id = new_run_id(created_at_utc)
    store = warehouse.open_warehouse(config)
    log.info(
        "run_id=%s warehouse=%s models=%s", run_id, store.location, ",".join(config.model_names)
    )
    try:
        counts: dict[str, object] = {}
        with _stage("load", counts):
            grid = store.read_grid(config.history_buckets, config.exchanges, config.symbols)
            series_in_grid = int(grid.groupby(["exchange_id", "symbol"]).ngroups)
            counts.update(rows=len(grid), series=series_in_grid)
        if grid.empty:
            store.ensure_tables()
            log.warning("the grid is empty: nothing to forecast, previous forecasts kept")
            return RunSummary(run_id, 0, 0, 0, 0, 0, (), time.perf_counter() - started, False)

        counts = {}
        with _stage("prepare", counts):
            prepared = prepare_series(grid, config)
            series = {info.unique_id: info for info in prepared.series}
            skipped = list(prepared.skipped)
            counts.update(
                usable=len(series),
                skipped=len(skipped),
                reasons=_counts_text(Counter(item.reason for item in skipped)),
                filled_buckets=sum(info.n_filled for info in series.values()),
            )
        for item in skipped:
            log.info(
                "skipped exchange=%s symbol=%s reason=%s detail=%r",
                item.exchange_id,
                item.symbol,
                item.reason,
                item.detail,
            )

        if series:
            forecasts, metrics = _model_series(prepared, series, skipped, config)
        else:
            forecasts, metrics = typed_empty(EMPTY_FORECASTS), typed_empty(EMPTY_METRICS)

        counts = {}
        with _stage("write", counts):
            output = build_output(
                run_id, created_at_utc, config, series_in_grid, series, forecasts, metrics, skipped
            )
            expired = store.append_run(output, config.keep_runs_days)
            written = output.frames
            counts.update(
                forecast_rows=len(written["forecast_prices"]),
                metric_rows=len(written["forecast_metrics"]),
                skipped_rows=len(written["forecast_skipped_series"]),
                expired_runs=expired,
            )
        metric_rows = written["forecast_metrics"]
        chosen = Counter(metric_rows.loc[metric_rows["is_chosen"], "model"])
        return RunSummary(
            run_id=run_id,
            series_in_grid=series_in_grid,
            series_forecast=len(series),
            series_skipped=len(skipped),
            forecast_rows=len(written["forecast_prices"]),
            metric_rows=len(metric_rows),
            chosen_by_model=tuple(sorted(chosen.items())),
            seconds=time.perf_counter() - started,
            written=True,
        )
    finally:
        store.close()
