"""A run's results as the rows of the forecast tables (warehouse.RunOutput): series keys joined
on, positions turned into bucket times, the run's own row with its settings."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime

import numpy as np
import pandas as pd

from forecasting import warehouse
from forecasting.config import ForecastConfig
from forecasting.evaluate import METRIC_COLUMNS, WINDOW_ROLES
from forecasting.series import SeriesInfo, SkippedSeries

EMPTY_FORECASTS = {
    "unique_id": "string", "horizon_step": "int64", "model": "string", "yhat": "float64",
    "yhat_lo_80": "float64", "yhat_hi_80": "float64", "yhat_lo_95": "float64",
    "yhat_hi_95": "float64",
}  # fmt: skip
EMPTY_METRICS = {
    "unique_id": "string", "model": "string", **dict.fromkeys(METRIC_COLUMNS, "float64"),
    "n_test_points": "int64", "validation_mase": "float64", "validation_coverage_80": "float64",
    "validation_coverage_95": "float64", "n_validation_points": "int64",
    "validation_first_ds": "int64", "validation_last_ds": "int64", "test_first_ds": "int64",
    "test_last_ds": "int64", "is_calibrated": "bool", "is_chosen": "bool",
}  # fmt: skip


def typed_empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in columns.items()})


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


def settings_json(config: ForecastConfig) -> str:
    """The run's settings, as recorded in forecast_runs (where the run is stored left out)."""
    settings = {
        name: list(value) if isinstance(value, tuple) else value
        for name, value in asdict(config).items()
        if name not in ("target", "duckdb_path")
    }
    return json.dumps(settings, sort_keys=True)


def build_output(
    run_id: str,
    created_at_utc: datetime,
    config: ForecastConfig,
    series_in_grid: int,
    series: dict[str, SeriesInfo],
    forecasts: pd.DataFrame,
    metrics: pd.DataFrame,
    skipped: list[SkippedSeries],
) -> warehouse.RunOutput:
    """The rows each forecast table receives from this run.

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
        validation_windows=config.validation_windows,
        test_windows=config.test_windows,
        horizon=config.horizon,
    )
    for role in WINDOW_ROLES:
        for edge, position in (("from", "first"), ("to", "last")):
            scored[f"{role}_{edge}_epoch_s"] = (
                scored["first_epoch_s"] + scored[f"{role}_{position}_ds"] * scored["bin_seconds"]
            )
    for column in (*METRIC_COLUMNS, "validation_mase"):  # inf/NaN (a NaN forecast) -> NULL
        scored[column] = scored[column].where(np.isfinite(scored[column]))
    runs = pd.DataFrame(
        {
            "models": [",".join(config.model_names)],
            "settings_json": [settings_json(config)],
            "series_in_grid": [series_in_grid],
            "series_forecast": [len(series)],
            "series_skipped": [len(skipped)],
            "forecast_rows": [len(prices)],
        }
    )
    return warehouse.RunOutput(
        run_id=run_id,
        created_at_utc=created_at_utc,
        frames={
            "forecast_runs": runs,
            "forecast_prices": prices,
            "forecast_metrics": scored,
            "forecast_skipped_series": _skipped_frame(skipped),
        },
    )
