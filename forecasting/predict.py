"""Final forecasts of every model with 80 % and 95 % intervals that nest and widen with horizon.

Native intervals of Naive, SeasonalNaive and AutoETS already widen; conformal intervals are
per-step quantiles of past errors and can narrow by chance from one step to the next. Each
interval's half-widths (below and above yhat) are therefore made non-decreasing along the horizon
(running maximum) and the 95 % interval at least as wide as the 80 % one. Widening only ever
adds coverage; the number of rows adjusted is logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from statsforecast import StatsForecast

from forecasting.config import ForecastConfig
from forecasting.models import INTERVAL_LEVELS

BOUND_COLUMNS: tuple[str, ...] = ("yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95")


@dataclass(frozen=True)
class Forecasts:
    """``frame``: unique_id, horizon_step, model, yhat and the four bounds, one row per step."""

    frame: pd.DataFrame
    rows_adjusted: int
    rows_dropped: int


def fit_and_forecast(
    frame: pd.DataFrame, models: list[Any], config: ForecastConfig
) -> pd.DataFrame:
    """statsforecast's forecast from whole series, wide: unique_id, ds, <model>, <model>-lo-80."""
    forecaster = StatsForecast(models=models, freq=1, n_jobs=config.n_jobs)
    result: pd.DataFrame = forecaster.forecast(
        df=frame, h=config.horizon, level=list(INTERVAL_LEVELS)
    )
    return result


def to_long(
    wide: pd.DataFrame,
    model_names: tuple[str, ...],
    keys: tuple[str, ...] = ("unique_id",),
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per (keys, model, horizon_step) from statsforecast's wide output (forecast: keys
    unique_id; cross-validation: unique_id and cutoff, with ds and y kept as ``extra``)."""
    wide = wide.sort_values([*keys, "ds"], kind="stable").reset_index(drop=True)
    base = wide[[*keys, *extra]].assign(
        horizon_step=wide.groupby(list(keys), sort=False).cumcount() + 1
    )
    parts = [
        base.assign(
            model=model,
            yhat=wide[model],
            yhat_lo_80=wide[f"{model}-lo-80"],
            yhat_hi_80=wide[f"{model}-hi-80"],
            yhat_lo_95=wide[f"{model}-lo-95"],
            yhat_hi_95=wide[f"{model}-hi-95"],
        )
        for model in model_names
    ]
    return pd.concat(parts, ignore_index=True)


def nest_and_widen(long: pd.DataFrame, keys: tuple[str, ...] = ("unique_id", "model")) -> Forecasts:
    """Drop non-finite rows; make bounds contain yhat, nest (95 around 80), widen with horizon
    within each forecast (``keys``: one forecast path of one model)."""
    values = long[["yhat", *BOUND_COLUMNS]].to_numpy(dtype=np.float64)
    finite = np.isfinite(values).all(axis=1)
    kept = long[finite].sort_values([*keys, "horizon_step"], kind="stable")
    kept = kept.reset_index(drop=True)
    groups = [kept[key] for key in keys]
    yhat = kept["yhat"]
    below_80 = (yhat - kept["yhat_lo_80"]).clip(lower=0.0).groupby(groups).cummax()
    above_80 = (kept["yhat_hi_80"] - yhat).clip(lower=0.0).groupby(groups).cummax()
    below_95 = np.maximum(yhat - kept["yhat_lo_95"], below_80).groupby(groups).cummax()
    above_95 = np.maximum(kept["yhat_hi_95"] - yhat, above_80).groupby(groups).cummax()
    adjusted = kept.assign(
        yhat_lo_80=yhat - below_80,
        yhat_hi_80=yhat + above_80,
        yhat_lo_95=yhat - below_95,
        yhat_hi_95=yhat + above_95,
    )
    changed = ~np.isclose(
        adjusted[list(BOUND_COLUMNS)].to_numpy(dtype=np.float64),
        kept[list(BOUND_COLUMNS)].to_numpy(dtype=np.float64),
        rtol=1e-12,
        atol=0.0,
    ).all(axis=1)
    return Forecasts(
        frame=adjusted,
        rows_adjusted=int(changed.sum()),
        rows_dropped=int((~finite).sum()),
    )
