"""Metric definitions on hand-computable cross-validation output, and the choice of model."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.evaluate import choose_models, naive_scales, score_models


def test_naive_scale_is_the_in_sample_one_step_naive_mae_up_to_the_cutoff() -> None:
    frame = pd.DataFrame({"unique_id": "a", "ds": range(5), "y": [10.0, 12.0, 11.0, 15.0, 14.0]})
    scales = naive_scales(frame).set_index("cutoff")["scale"]
    assert scales[2] == pytest.approx((2 + 1) / 2)
    assert scales[4] == pytest.approx((2 + 1 + 4 + 1) / 4)


def test_metrics_follow_their_definitions() -> None:
    # history 10, 12, 11 (naive scale at cutoff 2: (2 + 1) / 2 = 1.5), then two CV points
    frame = pd.DataFrame({"unique_id": "a", "ds": range(5), "y": [10.0, 12.0, 11.0, 20.0, 25.0]})
    cv = pd.DataFrame(
        {
            "unique_id": "a",
            "ds": [3, 4],
            "cutoff": [2, 2],
            "y": [20.0, 25.0],
            "Good": [19.0, 27.0],  # errors 1 and 2
            "Bad": [11.0, 11.0],  # errors 9 and 14
        }
    )
    metrics = score_models(cv, frame, ("Good", "Bad")).set_index("model")
    good = metrics.loc["Good"]
    assert good["mae"] == pytest.approx(1.5)
    assert good["rmse"] == pytest.approx(((1 + 4) / 2) ** 0.5)
    assert good["mape"] == pytest.approx(100 * (1 / 20 + 2 / 25) / 2)
    assert good["mase"] == pytest.approx(1.5 / 1.5)
    assert metrics.loc["Bad", "mase"] == pytest.approx(11.5 / 1.5)
    assert good["is_chosen"]
    assert not metrics.loc["Bad", "is_chosen"]


def test_ties_go_to_the_earlier_model_and_nan_is_never_chosen() -> None:
    metrics = pd.DataFrame(
        {
            "unique_id": ["a", "a", "a", "b", "b"],
            "model": ["Naive", "AutoETS", "Broken", "Naive", "Broken"],
            "mase": [1.0, 1.0, float("nan"), 2.0, float("nan")],
        }
    )
    chosen = choose_models(metrics, ("Naive", "AutoETS", "Broken"))
    flagged = chosen.loc[chosen["is_chosen"], ["unique_id", "model"]].values.tolist()
    assert flagged == [["a", "Naive"], ["b", "Naive"]]


def test_a_series_without_a_finite_mase_still_gets_exactly_one_model() -> None:
    metrics = pd.DataFrame(
        {
            "unique_id": ["flat", "flat", "flat"],
            "model": ["Broken", "AutoETS", "Naive"],
            "mase": [float("nan"), float("inf"), float("nan")],
        }
    )
    chosen = choose_models(metrics, ("Naive", "AutoETS", "Broken"))
    flagged = chosen.loc[chosen["is_chosen"], ["unique_id", "model"]].values.tolist()
    assert flagged == [["flat", "Naive"]]
