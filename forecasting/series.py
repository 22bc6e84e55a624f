"""Turn grid rows into forecastable series, or a recorded reason why a series is skipped.

The input (``cleansing.cln_forecast_input``, docs/forecasting.md) carries a price only where the
bucket's price was observed: a live tick, a backfilled bar, or a forward fill still within the
stale limit; interpolated, stale and missing buckets are null there and count as missing here. A
series is used only if, over its last ``history_buckets`` buckets (leading missing buckets
dropped), the missing share is at most ``max_missing_share`` and no run of missing buckets is
longer than ``max_gap_buckets``. statsforecast needs a regular series, so its remaining missing
buckets are bridged with the last observed price (no look-ahead); they are never actuals: the
``actuals`` frame flags them and scoring leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from forecasting.config import ForecastConfig

SKIP_REASONS: tuple[str, ...] = (
    "invalid_grid",
    "no_prices",
    "non_positive_price",
    "too_short",
    "too_many_gaps",
    "gap_too_long",
    "constant",
    "fit_failed",
)


@dataclass(frozen=True)
class SeriesInfo:
    """One usable series: its keys, its time axis, and how much of it we filled."""

    unique_id: str
    exchange_id: str
    symbol: str
    bin_seconds: int
    first_epoch_s: int
    n_points: int
    n_filled: int

    def epoch_of(self, position: int) -> int:
        """Bucket start (epoch seconds) of position ``position`` (0 = first training bucket)."""
        return self.first_epoch_s + position * self.bin_seconds


@dataclass(frozen=True)
class SkippedSeries:
    """A series left out of the run, with a reason code from SKIP_REASONS and a readable detail."""

    exchange_id: str
    symbol: str
    reason: str
    detail: str
    n_points: int


@dataclass(frozen=True)
class PreparedSeries:
    """``frame`` is statsforecast's long format: unique_id, ds (bucket position), y (price);
    ``actuals`` has unique_id, ds, is_actual (False where y bridges a missing bucket)."""

    frame: pd.DataFrame
    actuals: pd.DataFrame
    series: tuple[SeriesInfo, ...]
    skipped: tuple[SkippedSeries, ...]


def series_id(exchange_id: str, symbol: str) -> str:
    return f"{exchange_id} {symbol}"


def _longest_run(flags: npt.NDArray[np.bool_]) -> int:
    longest = current = 0
    for flag in flags:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


def _price_axis(rows: pd.DataFrame) -> tuple[int, int, npt.NDArray[np.float64]] | str:
    """(bin_seconds, first epoch, prices on a complete bucket axis) or why the rows are unusable."""
    bins = rows["bin_seconds"].unique()
    if len(bins) != 1 or int(bins[0]) < 1:
        return f"bin_seconds is not one positive value: {sorted(bins.tolist())}"
    bin_seconds = int(bins[0])
    epochs = rows["bucket_epoch_s"].to_numpy(dtype=np.int64)
    offsets = epochs - epochs[0]
    if (offsets % bin_seconds).any() or pd.Index(epochs).has_duplicates:
        return "bucket_epoch_s is not a duplicate-free multiple of bin_seconds"
    prices = np.full(int(offsets[-1] // bin_seconds) + 1, np.nan)
    prices[offsets // bin_seconds] = rows["usable_price"].to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    return bin_seconds, int(epochs[0]), prices


def prepare_one(
    exchange_id: str, symbol: str, rows: pd.DataFrame, config: ForecastConfig
) -> tuple[SeriesInfo, npt.NDArray[np.float64], npt.NDArray[np.bool_]] | SkippedSeries:
    """Apply the missing-bucket rule to one series' rows (sorted by bucket_epoch_s): the series
    info, the bridged prices, and which of them are observed (actuals)."""

    def skip(reason: str, detail: str, n_points: int) -> SkippedSeries:
        return SkippedSeries(exchange_id, symbol, reason, detail, n_points)

    axis = _price_axis(rows)
    if isinstance(axis, str):
        return skip("invalid_grid", axis, len(rows))
    bin_seconds, first_epoch, prices = axis
    priced = np.flatnonzero(~np.isnan(prices))
    if len(priced) == 0:
        return skip("no_prices", f"all {len(prices)} buckets are missing", 0)
    prices = prices[priced[0] :]
    first_epoch += int(priced[0]) * bin_seconds
    known = prices[~np.isnan(prices)]
    n_points = len(prices)
    if not np.isfinite(known).all() or (known <= 0).any():
        return skip("non_positive_price", "a price is zero, negative or infinite", n_points)
    if n_points < config.min_series_points:
        return skip(
            "too_short",
            f"{n_points} buckets < {config.min_series_points} needed (min_train_points"
            f" {config.min_train_points} + cross-validation span {config.cv_test_size})",
            n_points,
        )
    is_missing = np.isnan(prices)
    missing_share = float(is_missing.mean())
    if missing_share > config.max_missing_share:
        return skip(
            "too_many_gaps",
            f"{missing_share:.1%} of buckets missing > max_missing_share"
            f" {config.max_missing_share:.1%}",
            n_points,
        )
    longest_gap = _longest_run(is_missing)
    if longest_gap > config.max_gap_buckets:
        return skip(
            "gap_too_long",
            f"{longest_gap} consecutive missing buckets > max_gap_buckets {config.max_gap_buckets}",
            n_points,
        )
    filled = np.asarray(pd.Series(prices).ffill(), dtype=np.float64)
    if np.ptp(filled) == 0:
        return skip("constant", f"the price never changes over {n_points} buckets", n_points)
    first_cutoff = n_points - config.cv_test_size
    if np.ptp(filled[:first_cutoff]) == 0:
        # MASE divides by the in-sample naive error, which is 0 before the first cutoff
        return skip(
            "constant",
            f"the price never changes in the {first_cutoff} buckets before the first"
            " cross-validation cutoff",
            n_points,
        )
    info = SeriesInfo(
        unique_id=series_id(exchange_id, symbol),
        exchange_id=exchange_id,
        symbol=symbol,
        bin_seconds=bin_seconds,
        first_epoch_s=first_epoch,
        n_points=n_points,
        n_filled=int(is_missing.sum()),
    )
    return info, filled, ~is_missing


def prepare_series(grid: pd.DataFrame, config: ForecastConfig) -> PreparedSeries:
    """Split forecast input rows (exchange_id, symbol, bucket_epoch_s, usable_price, bin_seconds)
    into series."""
    frames: list[pd.DataFrame] = []
    actuals: list[pd.DataFrame] = []
    series: list[SeriesInfo] = []
    skipped: list[SkippedSeries] = []
    ordered = grid.sort_values(["exchange_id", "symbol", "bucket_epoch_s"], kind="stable")
    for (exchange_id, symbol), rows in ordered.groupby(["exchange_id", "symbol"], sort=True):
        outcome = prepare_one(str(exchange_id), str(symbol), rows, config)
        if isinstance(outcome, SkippedSeries):
            skipped.append(outcome)
            continue
        info, prices, is_actual = outcome
        series.append(info)
        positions = np.arange(len(prices))
        frames.append(pd.DataFrame({"unique_id": info.unique_id, "ds": positions, "y": prices}))
        actuals.append(
            pd.DataFrame({"unique_id": info.unique_id, "ds": positions, "is_actual": is_actual})
        )
    empty_keys = {"unique_id": pd.Series(dtype=object), "ds": np.array([], dtype=np.int64)}
    return PreparedSeries(
        frame=pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({**empty_keys, "y": np.array([], dtype=np.float64)}),
        actuals=pd.concat(actuals, ignore_index=True)
        if actuals
        else pd.DataFrame({**empty_keys, "is_actual": np.array([], dtype=bool)}),
        series=tuple(series),
        skipped=tuple(skipped),
    )
