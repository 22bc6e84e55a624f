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

import numpy as np
import pandas as pd

from forecasting import warehouse
from forecasting.config import ForecastConfig
from forecasting.evaluate import cross_validate, score_models
from forecasting.models import ModelSettings, build_models
from forecasting.predict import fit_and_forecast, nest_and_widen, to_long
from forecasting.series import SeriesInfo, SkippedSeries, prepare_series

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


def _keys_frame(series: dict[str, SeriesInfo]) -> pd.DataFrame:
    infos = list(series.values())
    return pd.DataFrame(
        {
            "unique_id": pd.Series(list(series), dtype="string"),
            "exchange_id": pd.Series([info.exchange_id for info in infos], dtype="string"),
            "symbol": pd.Series([info.symbol for info in infos], dtype="string"),
            "n_train_points": pd.Series([info.n_points for info in infos], dtype="int64"),
            "first_epoch_s": pd.Series([info.first_epoch_s for info in infos], dtype="int64"),
            "bin_seconds": pd.Series([info.bin_seconds for info in infos], dtype="int64"),
        }
    )


def _skipped_frame(skipped: list[SkippedSeries]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "exchange_id": pd.Series([item.exchange_id for item in skipped], dtype="string"),
            "symbol": pd.Series([item.symbol for item in skipped], dtype="string"),
            "reason": pd.Series([item.reason for item in skipped], dtype="string"),
            "n_points": pd.Series([item.n_points for item in skipped], dtype="int64"),
            "detail": pd.Series([item.detail for item in skipped], dtype="string"),
        }
    )


def _typed_empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


EMPTY_FORECASTS = {
    "unique_id": "string", "horizon_step": "int64", "model": "string", "yhat": "float64",
    "yhat_lo_80": "float64", "yhat_hi_80": "float64", "yhat_lo_95": "float64",
    "yhat_hi_95": "float64",
}  # fmt: skip
EMPTY_METRICS = {
    "unique_id": "string", "model": "string", "mae": "float64", "rmse": "float64",
    "mape": "float64", "mase": "float64", "n_cv_points": "int64", "is_chosen": "bool",
}  # fmt: skip


def build_output(
    run_id: str,
    created_at_utc: datetime,
    config: ForecastConfig,
    series: dict[str, SeriesInfo],
    forecasts: pd.DataFrame,
    metrics: pd.DataFrame,
    skipped: list[SkippedSeries],
) -> warehouse.RunOutput:
    """Join series keys onto the forecasts and metrics: the rows the forecast tables receive.

    Only series still in ``series`` (not failed in a later stage) are kept, so every forecast
    series has metrics and every metric belongs to a forecast series.
    """
    keys = _keys_frame(series)
    prices = forecasts.merge(keys, on="unique_id", how="inner")
    last_position = prices["n_train_points"] - 1 + prices["horizon_step"]
    prices = prices.assign(
        forecast_epoch_s=prices["first_epoch_s"] + last_position * prices["bin_seconds"]
    )
    scored = metrics.merge(keys, on="unique_id", how="inner").assign(
        cv_windows=config.cv_windows, horizon=config.horizon
    )
    for column in ("mae", "rmse", "mape", "mase"):  # inf/NaN (e.g. a model's NaN forecast) -> NULL
        scored[column] = scored[column].where(np.isfinite(scored[column]))
    return warehouse.RunOutput(
        run_id=run_id,
        created_at_utc=created_at_utc,
        prices=prices,
        metrics=scored,
        skipped=_skipped_frame(skipped),
    )


def _model_series(
    frame: pd.DataFrame,
    series: dict[str, SeriesInfo],
    skipped: list[SkippedSeries],
    config: ForecastConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cross-validate, score and forecast; (forecasts, metrics). Failed series move to skipped."""
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
            windows=config.cv_windows,
            horizon=config.horizon,
            failed=len(failures),
        )
    if not series:
        return _typed_empty(EMPTY_FORECASTS), _typed_empty(EMPTY_METRICS)
    frame = frame[frame["unique_id"].isin(series)]

    counts = {}
    with _stage("score", counts):
        metrics = score_models(cv, frame, model_names)
        chosen = Counter(metrics.loc[metrics["is_chosen"], "model"])
        counts.update(rows=len(metrics), chosen=_counts_text(chosen))

    counts = {}
    with _stage("forecast", counts):
        wide, failures = isolating_failures(
            lambda rows: fit_and_forecast(rows, models, config), frame
        )
        _record_failures(failures, series, skipped, "forecast")
        if not series:
            return _typed_empty(EMPTY_FORECASTS), metrics
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
    """Run every stage against ``config.duckdb_path``; raises warehouse.WarehouseError."""
    started = time.perf_counter()
    run_id = new_run_id(created_at_utc)
    log.info(
        "run_id=%s warehouse=%s models=%s",
        run_id,
        config.duckdb_path,
        ",".join(config.model_names),
    )
    connection = warehouse.connect(config.duckdb_path)
    try:
        counts: dict[str, object] = {}
        with _stage("load", counts):
            grid = warehouse.read_grid(
                connection, config.history_buckets, config.exchanges, config.symbols
            )
            series_in_grid = int(grid.groupby(["exchange_id", "symbol"]).ngroups)
            counts.update(rows=len(grid), series=series_in_grid)
        if grid.empty:
            warehouse.ensure_tables(connection)
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
            forecasts, metrics = _model_series(prepared.frame, series, skipped, config)
        else:
            forecasts, metrics = _typed_empty(EMPTY_FORECASTS), _typed_empty(EMPTY_METRICS)

        counts = {}
        with _stage("write", counts):
            output = build_output(
                run_id, created_at_utc, config, series, forecasts, metrics, skipped
            )
            warehouse.replace_run(connection, output)
            counts.update(
                forecast_rows=len(output.prices),
                metric_rows=len(output.metrics),
                skipped_rows=len(output.skipped),
            )
        chosen = Counter(output.metrics.loc[output.metrics["is_chosen"], "model"])
        return RunSummary(
            run_id=run_id,
            series_in_grid=series_in_grid,
            series_forecast=len(series),
            series_skipped=len(skipped),
            forecast_rows=len(output.prices),
            metric_rows=len(output.metrics),
            chosen_by_model=tuple(sorted(chosen.items())),
            seconds=time.perf_counter() - started,
            written=True,
        )
    finally:
        connection.close()
