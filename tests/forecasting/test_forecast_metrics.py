"""Metric definitions on hand-computable cross-validation output, the validation/test split, and
the choice of model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.config import ForecastConfig
from forecasting.evaluate import choose_models, naive_scales, score_models

CONFIG = ForecastConfig(horizon=2, cv_step=2, validation_windows=1, test_windows=1)


def _actuals(n: int, bridged: tuple[int, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame(
        {"unique_id": "a", "ds": range(n), "is_actual": [ds not in bridged for ds in range(n)]}
    )


def test_naive_scale_is_the_in_sample_one_step_naive_mae_over_actual_pairs() -> None:
    frame = pd.DataFrame({"unique_id": "a", "ds": range(5), "y": [10.0, 12.0, 11.0, 15.0, 14.0]})
    scales = naive_scales(frame, _actuals(5)).set_index("cutoff")["scale"]
    assert scales[2] == pytest.approx((2 + 1) / 2)
    assert scales[4] == pytest.approx((2 + 1 + 4 + 1) / 4)
    # bucket 3 bridged (no observed price): the steps into and out of it are not naive errors
    bridged = naive_scales(frame, _actuals(5, bridged=(3,))).set_index("cutoff")["scale"]
    assert bridged[4] == pytest.approx((2 + 1) / 2)


def _cv(y: list[float], models: dict[str, list[float]], half_width: float) -> pd.DataFrame:
    """Two windows of two steps (cutoffs 2 and 4 of a 7-bucket series): validation, then test."""
    cv = pd.DataFrame({"unique_id": "a", "ds": [3, 4, 5, 6], "cutoff": [2, 2, 4, 4], "y": y})
    for model, yhat in models.items():
        cv[model] = yhat
        for level, factor in (("80", 1.0), ("95", 2.0)):
            cv[f"{model}-lo-{level}"] = np.array(yhat) - factor * half_width
            cv[f"{model}-hi-{level}"] = np.array(yhat) + factor * half_width
    return cv


def test_test_figures_come_from_the_later_windows_and_the_choice_from_the_earlier() -> None:
    y = [10.0, 12.0, 11.0, 20.0, 25.0, 30.0, 40.0]
    frame = pd.DataFrame({"unique_id": "a", "ds": range(7), "y": y})
    cv = _cv(
        y[3:],
        {
            "Good": [20.0, 25.0, 28.0, 39.0],  # validation exact; test errors 2 and 1
            "Bad": [11.0, 11.0, 30.0, 40.0],  # validation errors 9 and 14; test exact
        },
        half_width=1.5,
    )
    metrics = score_models(cv, frame, _actuals(7), ("Good", "Bad"), CONFIG).set_index("model")
    good = metrics.loc["Good"]
    # test scale at cutoff 4: steps 2, 1, 9, 5 -> 17 / 4
    assert good["mae"] == pytest.approx(1.5)
    assert good["rmse"] == pytest.approx(((4 + 1) / 2) ** 0.5)
    assert good["mape"] == pytest.approx(100 * (2 / 30 + 1 / 40) / 2)
    assert good["mase"] == pytest.approx(1.5 / (17 / 4))
    assert (good["coverage_80"], good["coverage_95"]) == (0.5, 1.0)  # error 2 > 1.5, < 3
    assert good["validation_mase"] == 0.0
    assert (good["validation_coverage_80"], good["validation_coverage_95"]) == (1.0, 1.0)
    assert (good["n_test_points"], good["n_validation_points"]) == (2, 2)
    assert (good["validation_first_ds"], good["validation_last_ds"]) == (3, 4)
    assert (good["test_first_ds"], good["test_last_ds"]) == (5, 6)
    assert metrics.loc["Bad", "mase"] == 0.0  # best on test, but test plays no part in the choice
    assert metrics.loc["Bad", "validation_mase"] == pytest.approx(11.5 / 1.5)
    assert good["is_chosen"]
    assert not metrics.loc["Bad", "is_chosen"]


def test_bridged_buckets_are_never_actuals() -> None:
    y = [10.0, 12.0, 11.0, 20.0, 25.0, 30.0, 40.0]
    frame = pd.DataFrame({"unique_id": "a", "ds": range(7), "y": y})
    cv = _cv(y[3:], {"Naive": [11.0, 11.0, 25.0, 99.0]}, half_width=1.0)
    metrics = score_models(cv, frame, _actuals(7, bridged=(6,)), ("Naive",), CONFIG)
    (row,) = metrics.to_dict("records")
    assert row["n_test_points"] == 1
    assert row["mae"] == pytest.approx(5.0)  # bucket 6 (error 59) is not scored


def _choice(rows: list[tuple[str, str, float, float, float]]) -> list[list[str]]:
    metrics = pd.DataFrame(
        rows,
        columns=[
            "unique_id",
            "model",
            "validation_mase",
            "validation_coverage_80",
            "validation_coverage_95",
        ],
    )
    chosen = choose_models(metrics, ("Naive", "AutoETS", "Broken"), tolerance=0.05)
    return chosen.loc[chosen["is_chosen"], ["unique_id", "model"]].values.tolist()


def test_a_model_whose_intervals_miss_is_not_chosen_however_accurate() -> None:
    assert _choice(
        [
            ("a", "Naive", 1.0, 0.80, 0.95),
            ("a", "AutoETS", 0.5, 0.70, 0.95),  # 10 points under at 80 %
            ("b", "Naive", 1.0, 0.80, 0.99),  # 4 points over at 95 %: still calibrated
            ("b", "AutoETS", 0.9, 0.84, 0.95),
        ]
    ) == [["a", "Naive"], ["b", "AutoETS"]]


def test_without_a_calibrated_model_the_smallest_miss_wins() -> None:
    assert _choice([("a", "Naive", 1.0, 0.70, 0.95), ("a", "AutoETS", 0.5, 0.80, 0.80)]) == [
        ["a", "Naive"]
    ]


def test_ties_go_to_the_earlier_model_and_nan_is_never_chosen() -> None:
    nan = float("nan")
    assert _choice(
        [
            ("a", "Naive", 1.0, 0.8, 0.95),
            ("a", "AutoETS", 1.0, 0.8, 0.95),
            ("a", "Broken", nan, nan, nan),
            ("b", "Naive", 2.0, 0.8, 0.95),
            ("b", "Broken", nan, 0.8, 0.95),
        ]
    ) == [["a", "Naive"], ["b", "Naive"]]


def test_a_series_without_a_finite_mase_still_gets_exactly_one_model() -> None:
    nan, inf = float("nan"), float("inf")
    assert _choice(
        [
            ("flat", "Broken", nan, nan, nan),
            ("flat", "AutoETS", inf, 0.8, 0.95),
            ("flat", "Naive", nan, 0.8, 0.95),
        ]
    ) == [["flat", "Naive"]]


def test_a_finite_mase_beats_a_calibrated_model_without_one() -> None:
    nan = float("nan")
    assert _choice([("a", "Naive", nan, 0.8, 0.95), ("a", "AutoETS", 3.0, 0.5, 0.5)]) == [
        ["a", "AutoETS"]
    ]
