"""Nested cross-validated accuracy on series whose structure we know: a random walk cannot be
beaten by much, a trend or a season must be beaten by a clear margin, with the default model set;
on random walks with known noise the intervals cover what they say and the reported test accuracy
holds on a later hour."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.evaluate import cross_validate, score_models
from forecasting.models import ModelSettings, build_models
from forecasting.series import prepare_series, series_id
from tests.forecasting.forecast_grid_factory import (
    GridSeries,
    grid_frame,
    random_walk,
    seasonal,
    trending,
)

N_POINTS = 900
RANDOM_WALK_SEEDS = tuple(range(1, 9))


@pytest.fixture(scope="module")
def metrics() -> pd.DataFrame:
    # the defaults (horizon 60, season 60, Naive..AutoETS, 6 + 4 windows) in one process, as
    # tests run in parallel with others on a small machine
    config = ForecastConfig(n_jobs=1)
    series = [
        GridSeries("sim", f"RW{seed}/USD", random_walk(N_POINTS, seed))
        for seed in RANDOM_WALK_SEEDS
    ]
    series += [
        GridSeries("sim", "TREND/USD", trending(N_POINTS, seed=7)),
        GridSeries("sim", "SEASON/USD", seasonal(N_POINTS, seed=8, period=config.season_length)),
    ]
    prepared = prepare_series(grid_frame(series), config)
    assert not prepared.skipped
    models = build_models(
        config.model_names,
        ModelSettings(
            config.season_length, config.window_size, config.horizon, config.conformal_windows
        ),
    )
    cv = cross_validate(prepared.frame, models, config)
    return score_models(cv, prepared.frame, prepared.actuals, config.model_names, config)


def _chosen_and_naive(metrics: pd.DataFrame, symbol: str) -> tuple[pd.Series, float]:
    rows = metrics[metrics["unique_id"] == series_id("sim", symbol)]
    chosen = rows[rows["is_chosen"]]
    assert len(chosen) == 1, f"{symbol}: exactly one chosen model, got {len(chosen)}"
    naive_mase = float(rows.loc[rows["model"] == "Naive", "mase"].iloc[0])
    return chosen.iloc[0], naive_mase


def test_random_walks_best_model_does_not_beat_naive_by_much(metrics: pd.DataFrame) -> None:
    """Nothing can forecast a random walk better than its last value. On the test windows a model
    chosen on the validation windows can still win by chance on one series, so the promise is
    about the typical walk (median) with a floor for the unlucky one."""
    ratios = []
    for seed in RANDOM_WALK_SEEDS:
        chosen, naive_mase = _chosen_and_naive(metrics, f"RW{seed}/USD")
        ratios.append(chosen["mase"] / naive_mase)
    assert float(np.median(ratios)) >= 0.95, ratios
    assert min(ratios) >= 0.7, ratios


def test_trend_is_beaten_by_a_clear_margin(metrics: pd.DataFrame) -> None:
    chosen, naive_mase = _chosen_and_naive(metrics, "TREND/USD")
    assert chosen["model"] == "AutoETS"
    assert chosen["mase"] < 0.7 * naive_mase


def test_season_is_beaten_by_a_clear_margin(metrics: pd.DataFrame) -> None:
    chosen, naive_mase = _chosen_and_naive(metrics, "SEASON/USD")
    assert chosen["model"] == "SeasonalNaive"
    assert chosen["mase"] < 0.7 * naive_mase


def test_every_series_has_every_metric_for_every_model(metrics: pd.DataFrame) -> None:
    config = ForecastConfig(n_jobs=1)
    assert len(metrics) == (len(RANDOM_WALK_SEEDS) + 2) * len(config.model_names)
    assert (
        metrics[["mae", "rmse", "mape", "mase", "coverage_80", "coverage_95"]].notna().all().all()
    )
    assert (metrics["n_test_points"] == config.test_windows * config.horizon).all()
    assert (metrics["n_validation_points"] == config.validation_windows * config.horizon).all()
    assert (metrics["validation_last_ds"] < metrics["test_first_ds"]).all()


def test_fitting_once_at_the_first_cutoff_changes_only_models_with_estimated_parameters() -> None:
    config = ForecastConfig(
        horizon=12,
        cv_step=12,
        validation_windows=2,
        test_windows=1,
        season_length=30,
        window_size=12,
        min_train_points=60,
        n_jobs=1,
    )
    prepared = prepare_series(
        grid_frame([GridSeries("sim", "TREND/USD", trending(200, seed=21))]), config
    )
    models = build_models(
        config.model_names,
        ModelSettings(
            config.season_length, config.window_size, config.horizon, config.conformal_windows
        ),
    )
    fitted_once = cross_validate(prepared.frame, models, config)
    refitted = cross_validate(prepared.frame, models, replace(config, cv_refit=True))
    assert len(fitted_once) == len(refitted) == config.cv_windows * config.horizon
    assert fitted_once["cutoff"].nunique() == config.cv_windows
    for baseline in ("Naive", "SeasonalNaive", "WindowAverage"):
        assert fitted_once[baseline].tolist() == pytest.approx(refitted[baseline].tolist())
    # AutoETS keeps the trend either way: far better than naive in both modes
    for cv in (fitted_once, refitted):
        assert (cv["AutoETS"] - cv["y"]).abs().mean() < 0.3 * (cv["Naive"] - cv["y"]).abs().mean()
