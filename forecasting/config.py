"""Forecasting settings: defaults < optional YAML file < environment (FORECAST_*) < CLI options.

Every setting is validated once, at start, with a one-line message naming the bad value.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from forecasting.models import BASELINE_MODELS, OPTIONAL_MODELS

DEFAULT_DUCKDB_PATH = Path("data/warehouse/build.duckdb")
TARGETS = ("duckdb", "spark")  # the dbt targets forecasting reads from and writes to
ENV_PREFIX = "FORECAST_"


class ConfigError(ValueError):
    """A setting is missing, malformed or out of range."""


@dataclass(frozen=True)
class ForecastConfig:
    """One run's settings; the defaults suit 1-minute crypto prices (docs/forecasting.md).

    Lengths (horizon, season, windows, gaps) are counted in grid buckets of the series' own
    ``bin_seconds``, so the same settings work for any dbt ``bin_seconds``.
    """

    target: str = "duckdb"
    duckdb_path: Path = DEFAULT_DUCKDB_PATH
    horizon: int = 60
    season_length: int = 60
    window_size: int = 60
    models: tuple[str, ...] = ("AutoETS",)
    validation_windows: int = 6
    test_windows: int = 4
    cv_step: int = 60
    cv_refit: bool = False
    coverage_tolerance: float = 0.05
    conformal_windows: int = 20
    history_buckets: int = 1440
    min_train_points: int = 180
    max_missing_share: float = 0.1
    max_gap_buckets: int = 30
    n_jobs: int = -1
    exchanges: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    keep_runs_days: int = 30

    @property
    def model_names(self) -> tuple[str, ...]:
        """Baselines first (always run), then the configured extra models."""
        return BASELINE_MODELS + tuple(name for name in self.models if name not in BASELINE_MODELS)

    @property
    def cv_windows(self) -> int:
        """Validation windows (the model is chosen on them), then test windows (reported)."""
        return self.validation_windows + self.test_windows

    @property
    def cv_test_size(self) -> int:
        """Buckets at the end of a series that the cross-validation windows forecast."""
        return self.horizon + self.cv_step * (self.cv_windows - 1)

    @property
    def min_series_points(self) -> int:
        """Shortest usable series: enough training before the first cutoff, then the CV span."""
        return self.min_train_points + self.cv_test_size


def _target(text: str) -> str:
    value = text.strip().lower()
    if value not in TARGETS:
        raise ValueError(f"must be one of {', '.join(TARGETS)}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError("must be >= 1")
    return value


def _n_jobs(text: str) -> int:
    value = int(text)
    if value == 0 or value < -1:
        raise ValueError("must be >= 1, or -1 for every core")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise ValueError("must be in [0, 1)")
    return value


def _tolerance(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 0.5:
        raise ValueError("must be in (0, 0.5)")
    return value


def _conformal_windows(text: str) -> int:
    value = int(text)
    if value < 2:
        raise ValueError("must be >= 2 (statsforecast calibrates on at least two windows)")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError("must be >= 0")
    return value


def _flag(text: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false", "1", "0", "yes", "no"):
        raise ValueError("must be true or false")
    return value in ("true", "1", "yes")


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _model_names(text: str) -> tuple[str, ...]:
    names = () if text.strip().lower() in ("", "none", "baselines") else _names(text)
    known = {name.lower(): name for name in BASELINE_MODELS + OPTIONAL_MODELS}
    unknown = [name for name in names if name.lower() not in known]
    if unknown:
        raise ValueError(
            f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(OPTIONAL_MODELS)}"
            " (baselines always run), or 'none' for baselines only"
        )
    return tuple(dict.fromkeys(known[name.lower()] for name in names))


# setting name -> parser of its text form (CLI, environment and YAML values all go through it)
PARSERS: dict[str, Callable[[str], Any]] = {
    "target": _target,
    "duckdb_path": Path,
    "horizon": _positive_int,
    "season_length": _positive_int,
    "window_size": _positive_int,
    "models": _model_names,
    "validation_windows": _positive_int,
    "test_windows": _positive_int,
    "cv_step": _positive_int,
    "cv_refit": _flag,
    "coverage_tolerance": _tolerance,
    "conformal_windows": _conformal_windows,
    "history_buckets": _positive_int,
    "min_train_points": _positive_int,
    "max_missing_share": _share,
    "max_gap_buckets": _non_negative_int,
    "n_jobs": _n_jobs,
    "exchanges": _names,
    "symbols": _names,
    "keep_runs_days": _positive_int,
}
assert set(PARSERS) == {field.name for field in fields(ForecastConfig)}


def _as_text(value: object) -> str:
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(value)


def _parse(name: str, value: object, origin: str) -> object:
    try:
        return PARSERS[name](_as_text(value))
    except ValueError as error:
        raise ConfigError(f"{origin}: {name}={_as_text(value)!r} is invalid: {error}") from None


def _from_yaml(path: Path) -> dict[str, object]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot read config file {path}: {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of setting: value")
    unknown = sorted(set(loaded) - set(PARSERS))
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting(s) {', '.join(unknown)}")
    return {name: _parse(name, value, str(path)) for name, value in loaded.items()}


def _from_environment(environ: Mapping[str, str]) -> dict[str, object]:
    settings: dict[str, object] = {}
    if environ.get("DWH_DUCKDB_PATH"):
        settings["duckdb_path"] = Path(environ["DWH_DUCKDB_PATH"])
    for name in PARSERS:
        variable = ENV_PREFIX + name.upper()
        if variable in environ and name != "duckdb_path":
            settings[name] = _parse(name, environ[variable], f"environment {variable}")
    return settings


def load_config(
    cli_values: Mapping[str, str | None],
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> ForecastConfig:
    """Merge the layers and validate; ``cli_values`` holds the CLI's raw text (None = not given)."""
    settings: dict[str, Any] = {}
    if config_file is not None:
        settings.update(_from_yaml(config_file))
    settings.update(_from_environment(os.environ if environ is None else environ))
    for name, value in cli_values.items():
        if value is not None:
            settings[name] = _parse(name, value, "option")
    config = replace(ForecastConfig(), **settings)
    longest_lookback = max(config.season_length, config.window_size)
    if config.min_train_points < longest_lookback:
        # SeasonalNaive / WindowAverage would forecast NaN from the first cutoff
        raise ConfigError(
            f"min_train_points ({config.min_train_points}) must be >= season_length and"
            f" window_size (longest {longest_lookback})"
        )
    calibration = 2 * config.horizon + config.window_size
    if config.min_train_points < calibration:
        # conformal intervals are calibrated inside every cross-validation window: at the first
        # cutoff WindowAverage needs a full window before two calibration windows of one horizon
        raise ConfigError(
            f"min_train_points ({config.min_train_points}) must be >= 2 x horizon + window_size"
            f" ({calibration}): conformal intervals calibrate on at least two horizons"
        )
    return config
