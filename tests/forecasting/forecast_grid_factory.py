"""Series with known structure, and a real DuckDB warehouse holding them as the forecast input
(cleansing.cln_forecast_input, the relation forecasting reads)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import numpy.typing as npt
import pandas as pd

GRID_START_EPOCH_S = 1_795_000_020 - 1_795_000_020 % 86_400  # a UTC midnight in 2026
BIN_SECONDS = 60

FloatArray = npt.NDArray[np.float64]


def random_walk(n: int, seed: int, start: float = 100.0, step_sd: float = 0.05) -> FloatArray:
    rng = np.random.default_rng(seed)
    return start + np.cumsum(rng.normal(0.0, step_sd, n))


def trending(n: int, seed: int, slope: float = 0.05, noise_sd: float = 0.02) -> FloatArray:
    rng = np.random.default_rng(seed)
    return 100.0 + slope * np.arange(n) + rng.normal(0.0, noise_sd, n)


def seasonal(n: int, seed: int, period: int = 60, amplitude: float = 2.0) -> FloatArray:
    rng = np.random.default_rng(seed)
    phase = 2.0 * np.pi * np.arange(n) / period
    return 100.0 + amplitude * np.sin(phase) + rng.normal(0.0, 0.05, n)


@dataclass(frozen=True)
class GridSeries:
    """One (exchange_id, symbol) on the grid; NaN prices become ``missing`` buckets, and buckets
    listed in ``interpolated`` carry their price as an interpolation (never usable)."""

    exchange_id: str
    symbol: str
    prices: FloatArray
    start_epoch_s: int = GRID_START_EPOCH_S
    bin_seconds: int = BIN_SECONDS
    interpolated: tuple[int, ...] = ()


def grid_frame(series: Sequence[GridSeries]) -> pd.DataFrame:
    """Rows with exactly cln_forecast_input's contract columns (its YAML in dbt_project)."""
    frames = []
    for item in series:
        n = len(item.prices)
        epochs = item.start_epoch_s + item.bin_seconds * np.arange(n, dtype=np.int64)
        fill_method = np.where(np.isnan(item.prices), "missing", "observed")
        fill_method[list(item.interpolated)] = "interpolation"
        usable = fill_method == "observed"
        frames.append(
            pd.DataFrame(
                {
                    "exchange_id": item.exchange_id,
                    "symbol": item.symbol,
                    "bucket_start_utc": pd.to_datetime(epochs, unit="s", utc=True),
                    "bucket_epoch_s": epochs,
                    "bin_seconds": np.int32(item.bin_seconds),
                    "fill_method": fill_method,
                    "age_seconds": np.where(fill_method == "missing", np.nan, 0.0),
                    "is_usable": usable,
                    "usable_price": np.where(usable, item.prices, np.nan),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_grid(duckdb_path: Path, series: Sequence[GridSeries]) -> None:
    """Create (or replace) cleansing.cln_forecast_input in a real DuckDB file."""
    frame = grid_frame(series) if series else grid_frame([GridSeries("x", "X/Y", np.ones(1))])
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute("create schema if not exists cleansing")
        connection.register("grid_rows", frame)
        connection.execute(
            "create or replace table cleansing.cln_forecast_input as select * from grid_rows"
            + ("" if series else " limit 0")
        )
