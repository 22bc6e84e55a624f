"""The statsforecast models a run may use, declared as data: name, how to build it, its intervals.

Baselines always run so every series' accuracy can be read against them. Models without native
prediction intervals get conformal intervals (``ConformalIntervals``), calibrated on their own
rolling-origin errors, so every forecast row carries 80 % and 95 % bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
            lambda s, pi: WindowAverage(
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


def build_models(names: tuple[str, ...], settings: ModelSettings) -> list[Any]:
    """statsforecast model objects for ``names``, in that order."""
    models = []
    for name in names:
        spec = MODEL_SPECS[name]
        conformal = None if spec.native_intervals else settings.conformal()
        models.append(spec.build(settings, conformal))
    return models
