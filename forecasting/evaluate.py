"""Nested rolling-origin cross-validation: each series' model is chosen on earlier windows
(validation) and its accuracy and interval coverage are reported on later windows (test) that
played no part in the choice.

``validation_windows + test_windows`` cutoffs ``cv_step`` buckets apart at the end of a series;
the earlier ``validation_windows`` are validation, the later ``test_windows`` test. At every
cutoff each model forecasts ``horizon`` buckets from the data up to the cutoff only, with 80 % and
95 % intervals made to nest and widen as published (predict.nest_and_widen). Only actual buckets
are scored: a bucket the series bridged (no observed price) is never an actual.

Per series, model and window role, over the actual points:

- MAE, RMSE in price units; MAPE in percent (100 * mean |error| / actual; prices are > 0).
- MASE = mean over the points of |error| / scale(cutoff), where scale(cutoff) is the in-sample
  one-step naive MAE of the actuals up to that cutoff, mean |y_t - y_(t-1)| over consecutive
  actual buckets (Hyndman and Koehler 2006, non-seasonal scaling).
- coverage_80, coverage_95: the share of actuals inside the 80 % / 95 % interval.

The chosen model of a series: among its models whose validation coverage is within
``coverage_tolerance`` of nominal at both levels (calibrated), the lowest validation MASE; ties go
to the earlier model in the run's order (baselines first, so a complex model must be strictly
better). If no model is calibrated, the one whose coverage misses least. Test figures never
enter the choice.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from statsforecast import StatsForecast

from forecasting.config import ForecastConfig
from forecasting.models import INTERVAL_LEVELS
from forecasting.predict import nest_and_widen, to_long

METRIC_COLUMNS: tuple[str, ...] = ("mae", "rmse", "mape", "mase", "coverage_80", "coverage_95")
WINDOW_ROLES: tuple[str, str] = ("validation", "test")
NOMINAL_COVERAGE: dict[str, float] = {f"coverage_{level}": level / 100 for level in INTERVAL_LEVELS}


def cross_validate(frame: pd.DataFrame, models: list[Any], config: ForecastConfig) -> pd.DataFrame:
    """statsforecast's cross-validation over every window: unique_id, ds, cutoff, y, and per model
    its forecast and bounds (``<model>``, ``<model>-lo-80``, ...).

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
            level=list(INTERVAL_LEVELS),
            refit=refit,
        )
        result = part if result is None else result.merge(part, on=keys, how="inner")
    assert result is not None, "at least one model"
    return result


def naive_scales(frame: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """unique_id, cutoff, scale: mean |y_t - y_(t-1)| over consecutive actual buckets up to and
    including the cutoff (NaN before the first such pair)."""
    ordered = frame.merge(actuals, on=["unique_id", "ds"], how="inner").sort_values(
        ["unique_id", "ds"], kind="stable"
    )
    by_series = ordered.groupby("unique_id", sort=False)
    usable = ordered["is_actual"] & by_series["is_actual"].shift(fill_value=False).astype(bool)
    steps = by_series["y"].diff().abs().where(usable, 0.0)
    steps_so_far = steps.groupby(ordered["unique_id"], sort=False).cumsum()
    count_so_far = usable.astype(np.int64).groupby(ordered["unique_id"], sort=False).cumsum()
    return pd.DataFrame(
        {
            "unique_id": ordered["unique_id"],
            "cutoff": ordered["ds"],
            "scale": steps_so_far / count_so_far.where(count_so_far > 0),
        }
    )


def window_forecasts(
    cv: pd.DataFrame, model_names: tuple[str, ...], validation_windows: int
) -> pd.DataFrame:
    """Cross-validation output, long: one row per (unique_id, cutoff, model, horizon_step) with
    ds, y, yhat, the four bounds as statsforecast gave them, and window_role."""
    long = to_long(cv, model_names, keys=("unique_id", "cutoff"), extra=("ds", "y"))
    window_number = long.groupby("unique_id")["cutoff"].rank(method="dense")
    return long.assign(window_role=np.where(window_number <= validation_windows, *WINDOW_ROLES))


def _scored_points(
    forecasts: pd.DataFrame, frame: pd.DataFrame, actuals: pd.DataFrame
) -> pd.DataFrame:
    """The actual points of ``forecasts`` with intervals nested and widened as published, and
    each point's errors and whether the actual is inside each interval."""
    widened = nest_and_widen(forecasts, keys=("unique_id", "cutoff", "model")).frame
    points = (
        widened.merge(actuals, on=["unique_id", "ds"], how="inner")
        .query("is_actual")
        .merge(naive_scales(frame, actuals), on=["unique_id", "cutoff"], how="left")
    )
    error = (points["yhat"] - points["y"]).abs()
    return points.assign(
        abs_error=error,
        sq_error=error**2,
        pct_error=100.0 * error / points["y"],
        scaled_error=error / points["scale"],
        inside_80=points["y"].between(points["yhat_lo_80"], points["yhat_hi_80"]),
        inside_95=points["y"].between(points["yhat_lo_95"], points["yhat_hi_95"]),
    )


def score_models(
    cv: pd.DataFrame,
    frame: pd.DataFrame,
    actuals: pd.DataFrame,
    model_names: tuple[str, ...],
    config: ForecastConfig,
) -> pd.DataFrame:
    """One row per (unique_id, model): the test figures (METRIC_COLUMNS, n_test_points), the
    validation figures the choice used (validation_mase, validation_coverage_80/95,
    n_validation_points), each role's first and last forecast position (``<role>_first_ds``,
    ``<role>_last_ds``), is_calibrated and is_chosen.

    A model with a non-finite forecast at an actual point of a role has no figures for that role.
    """
    keys = ["unique_id", "model", "window_role"]
    forecasts = window_forecasts(cv, model_names, config.validation_windows)
    spans = (
        forecasts.groupby(["unique_id", "window_role"])["ds"]
        .agg(first_ds="min", last_ds="max")
        .unstack("window_role")
    )
    spans.columns = [f"{column[1]}_{column[0]}" for column in spans.columns]
    points = _scored_points(forecasts, frame, actuals)
    grouped = points.groupby(keys)
    scores = pd.DataFrame(
        {
            "mae": grouped["abs_error"].mean(),
            "rmse": np.sqrt(grouped["sq_error"].mean()),
            "mape": grouped["pct_error"].mean(),
            "mase": grouped["scaled_error"].mean(),
            "coverage_80": grouped["inside_80"].mean(),
            "coverage_95": grouped["inside_95"].mean(),
            "n_points": grouped["abs_error"].size(),
        }
    ).reset_index()
    bounds = forecasts[["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]]
    incomplete = (
        forecasts[~np.isfinite(bounds.to_numpy(dtype=np.float64)).all(axis=1)]
        .merge(actuals, on=["unique_id", "ds"], how="inner")
        .query("is_actual")[keys]
        .drop_duplicates()
        .assign(incomplete=True)
    )
    scores = scores.merge(incomplete, on=keys, how="left")
    scores.loc[scores["incomplete"].eq(True), list(METRIC_COLUMNS)] = np.nan
    scores = scores.drop(columns="incomplete")
    test = scores[scores["window_role"] == "test"].drop(columns="window_role")
    validation = scores[scores["window_role"] == "validation"][
        ["unique_id", "model", "mase", "coverage_80", "coverage_95", "n_points"]
    ].rename(columns=lambda name: name if name in ("unique_id", "model") else f"validation_{name}")
    grid = pd.MultiIndex.from_product(
        [sorted(frame["unique_id"].unique()), list(model_names)], names=["unique_id", "model"]
    ).to_frame(index=False)
    metrics = (
        grid.merge(test.rename(columns={"n_points": "n_test_points"}), how="left")
        .merge(validation, how="left")
        .merge(spans, left_on="unique_id", right_index=True, how="left")
        .rename(columns={"validation_n_points": "n_validation_points"})
    )
    for column in ("n_test_points", "n_validation_points"):
        metrics[column] = metrics[column].fillna(0).astype("int64")
    return choose_models(metrics, model_names, config.coverage_tolerance)


def choose_models(
    metrics: pd.DataFrame, model_names: tuple[str, ...], tolerance: float
) -> pd.DataFrame:
    """Flag is_calibrated (validation coverage within ``tolerance`` of nominal at both levels) and
    is_chosen, exactly one per series: models with a finite validation MASE first, then calibrated
    ones, then the smallest coverage miss, then the lowest MASE, then the earlier model in
    ``model_names``. A series without any finite MASE (a flat price, whose naive errors are all 0)
    still gets one model, so the dashboards always have a forecast to publish."""
    miss = pd.concat(
        [
            (metrics[f"validation_{column}"] - nominal).abs()
            for column, nominal in NOMINAL_COVERAGE.items()
        ],
        axis=1,
    ).max(axis=1, skipna=False)
    is_calibrated = (miss <= tolerance + 1e-12).fillna(False).astype(bool)
    finite_mase = metrics["validation_mase"].where(np.isfinite(metrics["validation_mase"]))
    ranked = metrics.assign(
        without_mase=finite_mase.isna(),
        calibration_rank=np.where(is_calibrated, 0.0, miss.fillna(np.inf)),
        finite_mase=finite_mase,
        model_order=metrics["model"].map({name: order for order, name in enumerate(model_names)}),
    ).sort_values(
        ["unique_id", "without_mase", "calibration_rank", "finite_mase", "model_order"],
        na_position="last",
        kind="stable",
    )
    chosen_index = ranked.groupby("unique_id").head(1).index
    flagged = metrics.assign(
        is_calibrated=is_calibrated, is_chosen=metrics.index.isin(chosen_index)
    )
    return flagged.sort_values(["unique_id", "model"], kind="stable").reset_index(drop=True)
