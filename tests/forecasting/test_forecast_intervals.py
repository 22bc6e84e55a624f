"""Every forecast row's intervals contain the point forecast, nest, and widen with the horizon."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.models import ModelSettings, build_models
from forecasting.predict import BOUND_COLUMNS, fit_and_forecast, nest_and_widen, to_long
from forecasting.series import prepare_series
from tests.forecasting.forecast_grid_factory import (
    GridSeries,
    grid_frame,
    random_walk,
    seasonal,
    trending,
)

CONFIG = ForecastConfig(models=("AutoETS", "AutoTheta", "RandomWalkWithDrift"), n_jobs=1)


@pytest.fixture(scope="module")
def forecasts() -> pd.DataFrame:
    series = [
        GridSeries("sim", "RW/USD", random_walk(900, seed=11)),
        GridSeries("sim", "TREND/USD", trending(900, seed=12)),
        GridSeries("sim", "SEASON/USD", seasonal(900, seed=13)),
    ]
    prepared = prepare_series(grid_frame(series), CONFIG)
    settings = ModelSettings(
        CONFIG.season_length, CONFIG.window_size, CONFIG.horizon, CONFIG.conformal_windows
    )
    wide = fit_and_forecast(prepared.frame, build_models(CONFIG.model_names, settings), CONFIG)
    result = nest_and_widen(to_long(wide, CONFIG.model_names))
    assert result.rows_dropped == 0
    return result.frame


def test_every_model_forecasts_every_step_of_every_series(forecasts: pd.DataFrame) -> None:
    counts = forecasts.groupby(["unique_id", "model"])["horizon_step"].agg(["count", "min", "max"])
    assert len(counts) == 3 * len(CONFIG.model_names)
    assert (counts["count"] == CONFIG.horizon).all()
    assert (counts["min"] == 1).all()
    assert (counts["max"] == CONFIG.horizon).all()


def test_intervals_contain_the_point_forecast_and_nest(forecasts: pd.DataFrame) -> None:
    assert (forecasts["yhat_lo_95"] <= forecasts["yhat_lo_80"]).all()
    assert (forecasts["yhat_lo_80"] <= forecasts["yhat"]).all()
    assert (forecasts["yhat"] <= forecasts["yhat_hi_80"]).all()
    assert (forecasts["yhat_hi_80"] <= forecasts["yhat_hi_95"]).all()
    assert (forecasts["yhat_hi_95"] > forecasts["yhat_lo_95"]).all()


def test_intervals_widen_with_the_horizon(forecasts: pd.DataFrame) -> None:
    ordered = forecasts.sort_values(["unique_id", "model", "horizon_step"])
    for (unique_id, model), rows in ordered.groupby(["unique_id", "model"]):
        for level in ("80", "95"):
            width = (rows[f"yhat_hi_{level}"] - rows[f"yhat_lo_{level}"]).to_numpy()
            assert (np.diff(width) >= -1e-9).all(), (unique_id, model, level)
    naive = ordered[ordered["model"] == "Naive"].groupby("unique_id")
    first = naive.first()
    last = naive.last()
    assert (
        (last["yhat_hi_95"] - last["yhat_lo_95"]) > 2 * (first["yhat_hi_95"] - first["yhat_lo_95"])
    ).all()


def test_narrowing_or_crossed_bounds_are_widened_and_counted() -> None:
    long = pd.DataFrame(
        {
            "unique_id": "a",
            "horizon_step": [1, 2, 3],
            "model": "WindowAverage",
            "yhat": [10.0, 10.0, 10.0],
            "yhat_lo_80": [9.0, 9.5, 8.0],  # step 2 narrower than step 1
            "yhat_hi_80": [11.0, 10.5, 12.0],
            "yhat_lo_95": [8.0, 9.6, 7.0],  # step 2: the 95 % bound inside the 80 % one
            "yhat_hi_95": [12.0, 10.4, 13.0],
        }
    )
    result = nest_and_widen(long)
    assert result.rows_adjusted == 1
    step_2 = result.frame.iloc[1]
    assert (step_2["yhat_lo_80"], step_2["yhat_hi_80"]) == (9.0, 11.0)
    assert (step_2["yhat_lo_95"], step_2["yhat_hi_95"]) == (8.0, 12.0)
    assert result.frame.iloc[2][list(BOUND_COLUMNS)].tolist() == [8.0, 12.0, 7.0, 13.0]


def test_non_finite_forecast_rows_are_dropped_and_counted() -> None:
    long = pd.DataFrame(
        {
            "unique_id": "a",
            "horizon_step": [1, 2],
            "model": "Naive",
            "yhat": [10.0, np.nan],
            "yhat_lo_80": [9.0, 9.0],
            "yhat_hi_80": [11.0, 11.0],
            "yhat_lo_95": [8.0, 8.0],
            "yhat_hi_95": [12.0, 12.0],
        }
    )
    result = nest_and_widen(long)
    assert result.rows_dropped == 1
    assert result.frame["horizon_step"].tolist() == [1]
