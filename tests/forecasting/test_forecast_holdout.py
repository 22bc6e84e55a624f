"""On random walks with known noise (Naive is optimal, its true intervals are known) the nested
cross-validation's test figures are honest: the chosen models' intervals cover within 5 points
of nominal, and their reported test MAE matches the MAE they then make on a later, unseen hour."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.evaluate import cross_validate, score_models
from forecasting.models import ModelSettings, build_models
from forecasting.predict import fit_and_forecast, to_long
from forecasting.series import prepare_series
from tests.forecasting.forecast_grid_factory import GridSeries, grid_frame, random_walk

N_SERIES = 24
N_POINTS = 900  # the run sees these; the next `horizon` buckets are the later hour
CONFIG = ForecastConfig(n_jobs=1)


@pytest.fixture(scope="module")
def chosen() -> pd.DataFrame:
    """Per series: the chosen model's reported test figures and its MAE on the later hour."""
    walks = {
        f"RW{seed}/USD": random_walk(N_POINTS + CONFIG.horizon, seed=100 + seed)
        for seed in range(N_SERIES)
    }
    seen = [GridSeries("sim", symbol, prices[:N_POINTS]) for symbol, prices in walks.items()]
    prepared = prepare_series(grid_frame(seen), CONFIG)
    settings = ModelSettings(
        CONFIG.season_length, CONFIG.window_size, CONFIG.horizon, CONFIG.conformal_windows
    )
    models = build_models(CONFIG.model_names, settings)
    cv = cross_validate(prepared.frame, models, CONFIG)
    metrics = score_models(cv, prepared.frame, prepared.actuals, CONFIG.model_names, CONFIG)
    forecasts = to_long(fit_and_forecast(prepared.frame, models, CONFIG), CONFIG.model_names)
    later = pd.DataFrame(
        [
            {
                "unique_id": f"sim {symbol}",
                "horizon_step": step + 1,
                "actual": prices[N_POINTS + step],
            }
            for symbol, prices in walks.items()
            for step in range(CONFIG.horizon)
        ]
    )
    holdout = forecasts.merge(later, on=["unique_id", "horizon_step"])
    holdout_mae = (
        (holdout["yhat"] - holdout["actual"])
        .abs()
        .groupby([holdout["unique_id"], holdout["model"]])
        .mean()
    ).rename("holdout_mae")
    picked = metrics[metrics["is_chosen"]]
    return picked.merge(holdout_mae.reset_index(), on=["unique_id", "model"])


def test_every_series_has_one_chosen_model(chosen: pd.DataFrame) -> None:
    assert len(chosen) == N_SERIES
    assert chosen["unique_id"].is_unique


def test_chosen_intervals_cover_within_5_points_of_nominal_on_the_test_windows(
    chosen: pd.DataFrame,
) -> None:
    assert abs(chosen["coverage_80"].mean() - 0.80) <= 0.05
    assert abs(chosen["coverage_95"].mean() - 0.95) <= 0.05


def test_reported_test_mae_matches_the_later_hour_within_25_percent(chosen: pd.DataFrame) -> None:
    """Pooled over 24 walks: one later hour per walk has a standard error of about 10 % of the
    MAE (measured over seeds), so 25 % is a tolerance a leak (choosing on the reported windows:
    the issue's 0.95 reported vs 1.23 later) would break while honest figures keep it."""
    ratio = chosen["holdout_mae"].mean() / chosen["mae"].mean()
    assert 0.75 <= ratio <= 1.25, ratio
