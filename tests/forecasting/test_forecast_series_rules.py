"""The missing-bucket rule and the skip reasons: a series is used, filled, or skipped with why."""

from __future__ import annotations

import numpy as np
import pytest

from forecasting.config import ForecastConfig
from forecasting.series import SkippedSeries, prepare_series
from tests.forecasting.forecast_grid_factory import GridSeries, grid_frame, random_walk

CONFIG = ForecastConfig(
    horizon=10, cv_step=10, validation_windows=1, test_windows=1, min_train_points=30
)  # needs 50


def _skip_reason(prices: np.ndarray) -> SkippedSeries:
    prepared = prepare_series(grid_frame([GridSeries("okx", "ABC/USDT", prices)]), CONFIG)
    assert not prepared.series
    (skipped,) = prepared.skipped
    assert (skipped.exchange_id, skipped.symbol) == ("okx", "ABC/USDT")
    return skipped


def test_too_short_series_is_skipped_with_the_needed_length() -> None:
    skipped = _skip_reason(random_walk(49, seed=1))
    assert skipped.reason == "too_short"
    assert skipped.n_points == 49
    assert "49 buckets < 50 needed" in skipped.detail


def test_constant_series_is_skipped() -> None:
    assert _skip_reason(np.full(80, 42.0)).reason == "constant"


def test_series_constant_before_the_first_cutoff_is_skipped_as_mase_is_undefined() -> None:
    prices = np.concatenate([np.full(60, 42.0), random_walk(20, seed=2)])
    skipped = _skip_reason(prices)
    assert skipped.reason == "constant"
    assert "before the first cross-validation cutoff" in skipped.detail


def test_too_many_missing_buckets_is_skipped() -> None:
    prices = random_walk(100, seed=3)
    prices[::8] = np.nan  # 13 % missing, no long gap
    assert _skip_reason(prices).reason == "too_many_gaps"


def test_one_long_gap_is_skipped() -> None:
    prices = random_walk(400, seed=4)
    prices[200 : 200 + CONFIG.max_gap_buckets + 1] = np.nan  # 7.75 % missing but one long run
    skipped = _skip_reason(prices)
    assert skipped.reason == "gap_too_long"
    assert f"{CONFIG.max_gap_buckets + 1} consecutive" in skipped.detail


def test_all_missing_and_non_positive_prices_are_skipped() -> None:
    assert _skip_reason(np.full(80, np.nan)).reason == "no_prices"
    prices = random_walk(80, seed=5)
    prices[40] = 0.0
    assert _skip_reason(prices).reason == "non_positive_price"


def test_short_gaps_are_forward_filled_and_leading_missing_buckets_dropped() -> None:
    prices = random_walk(100, seed=6)
    prices[:3] = np.nan  # leading: dropped, the series starts at its first price
    prices[50:53] = np.nan  # internal: filled with the price of bucket 49
    item = GridSeries("kraken", "BTC/USD", prices)
    prepared = prepare_series(grid_frame([item]), CONFIG)
    (info,) = prepared.series
    assert not prepared.skipped
    assert info.n_points == 97
    assert info.n_filled == 3
    assert info.first_epoch_s == item.start_epoch_s + 3 * item.bin_seconds
    y = prepared.frame["y"].to_numpy()
    assert list(prepared.frame["ds"]) == list(range(97))
    assert y[47:50] == pytest.approx([prices[49]] * 3)
    assert not np.isnan(y).any()


def test_rows_absent_from_the_grid_count_as_missing_buckets() -> None:
    frame = grid_frame([GridSeries("kraken", "BTC/USD", random_walk(100, seed=7))])
    frame = frame.drop(index=range(40, 44))  # four buckets with no row at all
    (info,) = prepare_series(frame, CONFIG).series
    assert info.n_points == 100
    assert info.n_filled == 4


def test_usable_and_skipped_series_are_separated_in_one_grid() -> None:
    grid = grid_frame(
        [
            GridSeries("binance", "BTC/USDT", random_walk(80, seed=8)),
            GridSeries("binance", "ETH/USDT", np.full(80, 3.0)),
            GridSeries("okx", "BTC/USDT", random_walk(20, seed=9)),
        ]
    )
    prepared = prepare_series(grid, CONFIG)
    assert [info.unique_id for info in prepared.series] == ["binance BTC/USDT"]
    assert sorted((item.symbol, item.reason) for item in prepared.skipped) == [
        ("BTC/USDT", "too_short"),
        ("ETH/USDT", "constant"),
    ]


def test_backfilled_buckets_are_training_data() -> None:
    # 24 h of backfilled history, then live ticks: every bucket is a price, none is filled.
    prices = random_walk(100, seed=10)
    frame = grid_frame([GridSeries("binance", "BTC/USDT", prices)])
    history = frame.index < 90
    frame.loc[history, "fill_method"] = "backfill"
    frame.loc[history, "tick_count_in_bin"] = 0
    prepared = prepare_series(frame, CONFIG)
    (info,) = prepared.series
    assert (info.n_points, info.n_filled) == (100, 0)
    assert prepared.frame["y"].to_numpy() == pytest.approx(prices)


def test_interpolated_buckets_are_never_training_values_nor_actuals() -> None:
    prices = random_walk(120, seed=7, start=100.0)
    interpolated = (50, 51, 90)
    prices[list(interpolated)] = 5_000.0  # an interpolated price no observed bucket has
    grid = grid_frame([GridSeries("okx", "ABC/USDT", prices, interpolated=interpolated)])
    prepared = prepare_series(grid, CONFIG)
    assert not prepared.skipped
    assert 5_000.0 not in prepared.frame["y"].to_numpy()
    bridged = prepared.actuals.loc[~prepared.actuals["is_actual"], "ds"].tolist()
    assert bridged == list(interpolated)
    # the bridge is the last observed price, never the interpolation
    y = prepared.frame["y"].to_numpy()
    assert y[50] == y[51] == y[49] == prices[49]
