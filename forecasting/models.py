"""The statsforecast models a run may use, declared as data: name, how to build it, its intervals.

Baselines always run so every series' accuracy can be read against them. Models without native
prediction intervals get conformal intervals (``ConformalIntervals``), calibrated on their own
rolling-origin errors, so every forecast row carries 80 % and 95 % bounds.

statsforecast's own conformal intervals take, per horizon step, a quantile of that step's
``n_windows`` errors: with a few windows the 95 % quantile of a handful of values under-covers
(WindowAverage on random walks, 17 windows: 74 % and 90 % against 80 % and 95 %). We pool the
steps instead (``pooled_conformal_intervals``): each step's errors are divided by a scale that
grows linearly in variance with the step, the ``ceil((N + 1) p)``-th smallest of all N scaled
errors is the conformal quantile, and each step's half-width is that quantile times its scale
(the same random walks: 78 % and 94 %).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from statsforecast.models import (
    AutoARIMA,
    AutoCES,
    AutoETS,
    AutoTheta,
    HistoricAverage,
    Naive,
    RandomWalkWithDrift,
    SeasonalNaive,
    WindowAverage,
)
from statsforecast.utils import ConformalIntervals

BASELINE_MODELS: tuple[str, ...] = ("Naive", "SeasonalNaive", "WindowAverage")
OPTIONAL_MODELS: tuple[str, ...] = (
    "AutoETS",
    "AutoARIMA",
    "AutoTheta",
    "AutoCES",
    "RandomWalkWithDrift",
    "HistoricAverage",
)
INTERVAL_LEVELS: tuple[int, int] = (80, 95)

# ETS (R's forecast::ets and statsforecast's port) does not model seasons longer than 24; asking
# for them makes the automatic models search seasonal candidates that cannot be used and costs
# ~20x the time (measured: AutoETS cross-validation on 60 x 1440 points, 232 s vs 12 s). The
# automatic models therefore get season_length only when it is <= 24, else 1 (non-seasonal).
MAX_AUTO_SEASON_LENGTH = 24


@dataclass(frozen=True)
class ModelSettings:
    """What the model factories need from the run configuration."""

    season_length: int
    window_size: int
    horizon: int
    conformal_windows: int

    @property
    def auto_season_length(self) -> int:
        return self.season_length if self.season_length <= MAX_AUTO_SEASON_LENGTH else 1

    def conformal(self) -> ConformalIntervals:
        return ConformalIntervals(h=self.horizon, n_windows=self.conformal_windows)


@dataclass(frozen=True)
class ModelSpec:
    """One model: ``build(settings, prediction_intervals)`` returns a statsforecast model whose
    alias is ``name``; ``prediction_intervals`` is None for models with native intervals."""

    name: str
    build: Callable[[ModelSettings, ConformalIntervals | None], Any]
    native_intervals: bool


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "Naive",
            lambda _, pi: Naive(alias="Naive", prediction_intervals=pi),
            native_intervals=True,
        ),
        ModelSpec(
            "SeasonalNaive",
            lambda s, pi: SeasonalNaive(
                season_length=s.season_length, alias="SeasonalNaive", prediction_intervals=pi
            ),
            native_intervals=True,
        ),
        ModelSpec(
            "WindowAverage",
            lambda s, pi: PooledConformalWindowAverage(
                window_size=s.window_size, alias="WindowAverage", prediction_intervals=pi
            ),
            native_intervals=False,
        ),
        ModelSpec(
            "AutoETS",
            lambda s, pi: AutoETS(
                season_length=s.auto_season_length, alias="AutoETS", prediction_intervals=pi
            ),
            native_intervals=True,
        ),
        ModelSpec(
            "AutoARIMA",
            lambda s, pi: AutoARIMA(
                season_length=s.auto_season_length, alias="AutoARIMA", prediction_intervals=pi
            ),
            native_intervals=True,
        ),
        ModelSpec(
            "AutoTheta",
            lambda s, pi: AutoTheta(
                season_length=s.auto_season_length, alias="AutoTheta", prediction_intervals=pi
            ),
            native_intervals=True,
        ),
        ModelSpec(
            "AutoCES",
            lambda s, pi: AutoCES(
                season_length=s.auto_season_length, alias="AutoCES", prediction_intervals=pi
            ),
            native_intervals=True,
        ),
        ModelSpec(
            "RandomWalkWithDrift",
            lambda _, pi: RandomWalkWithDrift(alias="RandomWalkWithDrift", prediction_intervals=pi),
            native_intervals=True,
        ),
        ModelSpec(
            "HistoricAverage",
            lambda _, pi: HistoricAverage(alias="HistoricAverage", prediction_intervals=pi),
            native_intervals=True,
        ),
    )
}
assert set(MODEL_SPECS) == set(BASELINE_MODELS + OPTIONAL_MODELS)


def pooled_conformal_intervals(
    fcst: dict[str, Any], cs: npt.NDArray[np.float64], level: list[int]
) -> dict[str, Any]:
    """Add ``lo-<level>`` / ``hi-<level>`` to ``fcst`` from the absolute calibration errors ``cs``
    (windows x steps): per-step scale sqrt(a + b step) fitted to the mean squared error per step,
    one split-conformal quantile of the scaled errors pooled over windows and steps. Windows whose
    forecast was not finite (too little history before them) are left out."""
    scores = cs[np.isfinite(cs).all(axis=1)]
    steps = np.arange(1, cs.shape[1] + 1, dtype=np.float64)
    if len(scores) == 0 or not np.any(scores > 0):
        half_widths = {lv: np.full(len(steps), np.nan) for lv in level}
    else:
        mean_square = (scores**2).mean(axis=0)
        slope, intercept = np.polyfit(steps, mean_square, 1) if len(steps) > 1 else (0.0, 0.0)
        floor = mean_square[mean_square > 0].min()
        scale = np.sqrt(np.maximum(intercept + slope * steps, floor))
        pooled = np.sort((scores / scale).ravel())
        half_widths = {
            lv: pooled[min(math.ceil((pooled.size + 1) * lv / 100), pooled.size) - 1] * scale
            for lv in level
        }
    for lv in level:
        fcst[f"lo-{lv}"] = fcst["mean"] - half_widths[lv]
        fcst[f"hi-{lv}"] = fcst["mean"] + half_widths[lv]
    return fcst


class PooledConformalWindowAverage(WindowAverage):
    """statsforecast's WindowAverage with ``pooled_conformal_intervals`` in place of the per-step
    conformal quantiles (statsforecast 2.1 calls ``_conformal_method(fcst=, cs=, level=)``)."""

    @property
    def _conformal_method(self) -> Callable[..., dict[str, Any]]:
        return pooled_conformal_intervals


def build_models(names: tuple[str, ...], settings: ModelSettings) -> list[Any]:
    """statsforecast model objects for ``names``, in that order."""
    models = []
    for name in names:
        spec = MODEL_SPECS[name]
        conformal = None if spec.native_intervals else settings.conformal()
        models.append(spec.build(settings, conformal))
    return models
