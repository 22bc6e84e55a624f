"""Rolling-origin cross-validation, per-series accuracy, and the choice of model per series.

Metrics over every cross-validated point of a series (``cv_windows`` windows of ``horizon``
buckets, cutoffs ``cv_step`` buckets apart, each forecast made from the data up to its cutoff):

- MAE, RMSE in price units; MAPE in percent (100 * mean |error| / actual; prices are > 0).
- MASE = mean over the points of |error| / scale(cutoff), where scale(cutoff) is the in-sample
  one-step naive MAE of the training data up to that cutoff, mean |y_t - y_(t-1)| (Hyndman and
  Koehler 2006, non-seasonal scaling). MASE < 1: better than the one-step naive in sample; the
  multi-step Naive model itself usually scores above 1 at longer horizons.

The model chosen for a series has the lowest MASE; ties go to the earlier model in the run's
order (baselines first, so a complex model must be strictly better to be chosen).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsforecast import StatsForecast

from forecasting.config import ForecastConfig

METRIC_COLUMNS: tuple[str, ...] = ("mae", "rmse", "mape", "mase")


def cross_validate(frame: pd.DataFrame, models: list[Any], config: ForecastConfig) -> pd.DataFrame:
    """statsforecast's cross-validation: unique_id, ds, cutoff, y and one column per model.

    Unless ``config.cv_refit``, a model that can ``forward`` is fitted once, on the data up to the
    first cutoff, and its fitted parameters are carried to the later cutoffs with the state
    updated on the new observations (no look-ahead, about a third of the cost for AutoETS); models
    without ``forward`` (WindowAverage) are refitted at every cutoff, which costs them nothing.
    """
    groups: list[tuple[bool, list[Any]]] = [(True, models)]
    if not config.cv_refit:
        groups = [
            (True, [model for model in models if not hasattr(model, "forward")]),
            (False, [model for model in models if hasattr(model, "forward")]),
        ]
    keys = ["unique_id", "ds", "cutoff", "y"]
    result: pd.DataFrame | None = None
    for refit, group in groups:
        if not group:
            continue
        forecaster = StatsForecast(models=group, freq=1, n_jobs=config.n_jobs)
        part: pd.DataFrame = forecaster.cross_validation(
            h=config.horizon,
            df=frame,
            n_windows=config.cv_windows,
            step_size=config.cv_step,
            refit=refit,
        )
        result = part if result is None else result.merge(part, on=keys, how="inner")
    assert result is not None, "at least one model"
    return result


def naive_scales(frame: pd.DataFrame) -> pd.DataFrame:
    """unique_id, cutoff, scale: in-sample one-step naive MAE of y up to and including cutoff."""
    ordered = frame.sort_values(["unique_id", "ds"], kind="stable")
    steps = ordered.groupby("unique_id", sort=False)["y"].diff().abs()
    steps_so_far = steps.fillna(0.0).groupby(ordered["unique_id"], sort=False).cumsum()
    count_so_far = ordered.groupby("unique_id", sort=False).cumcount()
    scale = steps_so_far / count_so_far.where(count_so_far > 0)
    return pd.DataFrame(
        {"unique_id": ordered["unique_id"], "cutoff": ordered["ds"], "scale": scale}
    )


def score_models(
    cv: pd.DataFrame, frame: pd.DataFrame, model_names: tuple[str, ...]
) -> pd.DataFrame:
    """One row per (unique_id, model): mae, rmse, mape, mase, n_cv_points, is_chosen."""
    with_scale = cv.merge(naive_scales(frame), on=["unique_id", "cutoff"], how="left")
    actual = with_scale["y"].to_numpy(dtype=np.float64)
    scale = with_scale["scale"].to_numpy(dtype=np.float64)
    per_model = []
    for model in model_names:
        error = np.abs(with_scale[model].to_numpy(dtype=np.float64) - actual)
        points = pd.DataFrame(
            {
                "unique_id": with_scale["unique_id"],
                "abs_error": error,
                "sq_error": error**2,
                "pct_error": 100.0 * error / actual,
                "scaled_error": error / scale,
            }
        )
        grouped = points.groupby("unique_id", sort=True)
        scores = pd.DataFrame(
            {
                "mae": grouped["abs_error"].mean(),
                "rmse": np.sqrt(grouped["sq_error"].mean()),
                "mape": grouped["pct_error"].mean(),
                "mase": grouped["scaled_error"].mean(),
                "n_cv_points": grouped["abs_error"].count(),
            }
        ).reset_index()
        scores.insert(1, "model", model)
        per_model.append(scores)
    metrics = pd.concat(per_model, ignore_index=True)
    return choose_models(metrics, model_names)


def choose_models(metrics: pd.DataFrame, model_names: tuple[str, ...]) -> pd.DataFrame:
    """Flag one model per series: the lowest finite MASE (ties: the earlier model in
    ``model_names``); a series without any finite MASE (e.g. a flat price, whose naive errors
    are all 0) gets the earliest model of ``model_names``, so every series has exactly one."""
    order = {name: position for position, name in enumerate(model_names)}
    ranked = metrics.assign(
        model_order=metrics["model"].map(order),
        finite_mase=metrics["mase"].where(np.isfinite(metrics["mase"])),
    ).sort_values(["unique_id", "finite_mase", "model_order"], na_position="last", kind="stable")
    chosen_index = ranked.groupby("unique_id").head(1).index
    flagged = metrics.assign(is_chosen=metrics.index.isin(chosen_index))
    return flagged.sort_values(["unique_id", "model"], kind="stable").reset_index(drop=True)
