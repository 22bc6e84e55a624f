"""Settings layers (defaults < YAML < environment < CLI) and one-line errors on bad values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from forecasting.cli import main
from forecasting.config import ConfigError, ForecastConfig, load_config
from forecasting.pipeline import isolating_failures


def test_later_layers_override_earlier_ones(tmp_path: Path) -> None:
    config_file = tmp_path / "forecast.yaml"
    config_file.write_text("horizon: 30\nseason_length: 24\nmodels: [AutoETS, AutoARIMA]\n")
    environ = {"FORECAST_SEASON_LENGTH": "12", "DWH_DUCKDB_PATH": "/data/w.duckdb"}
    config = load_config({"test_windows": "5", "horizon": None}, environ, config_file)
    assert config.horizon == 30  # YAML
    assert config.season_length == 12  # environment over YAML
    assert config.test_windows == 5  # CLI
    assert config.cv_windows == config.validation_windows + 5
    assert config.duckdb_path == Path("/data/w.duckdb")
    assert config.models == ("AutoETS", "AutoARIMA")
    assert config.model_names == ("Naive", "SeasonalNaive", "WindowAverage", "AutoETS", "AutoARIMA")
    cli = load_config({"duckdb_path": "x.duckdb", "models": "none"}, environ, config_file)
    assert cli.duckdb_path == Path("x.duckdb")
    assert cli.model_names == ("Naive", "SeasonalNaive", "WindowAverage")


def test_defaults_need_780_buckets_per_series() -> None:
    config = load_config({}, {})
    assert config == ForecastConfig()
    assert config.min_series_points == 180 + 60 + 60 * (6 + 4 - 1)


@pytest.mark.parametrize(
    ("cli_values", "message"),
    [
        ({"horizon": "0"}, "horizon='0' is invalid: must be >= 1"),
        ({"models": "AutoETS,Prophet"}, "unknown model(s) Prophet"),
        ({"max_missing_share": "1.5"}, "must be in [0, 1)"),
        ({"n_jobs": "0"}, "must be >= 1, or -1"),
        ({"cv_refit": "maybe"}, "must be true or false"),
        ({"conformal_windows": "1"}, "conformal_windows='1' is invalid: must be >= 2"),
        ({"coverage_tolerance": "0.5"}, "coverage_tolerance='0.5' is invalid"),
        ({"min_train_points": "30"}, "min_train_points (30) must be >= season_length"),
        (
            {"min_train_points": "120"},
            "min_train_points (120) must be >= 2 x horizon + window_size",
        ),
    ],
)
def test_bad_values_are_named_in_one_line(cli_values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(cli_values, {})
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_bad_environment_and_yaml_values_name_their_origin(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="environment FORECAST_HORIZON"):
        load_config({}, {"FORECAST_HORIZON": "soon"})
    config_file = tmp_path / "forecast.yaml"
    config_file.write_text("horizon: 10\nhorizn: 12\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        load_config({}, {}, config_file)


def test_the_cli_exits_2_on_a_bad_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--horizon", "-3"]) == 2
    assert capsys.readouterr().err.startswith("error: option: horizon='-3' is invalid")


def test_a_failing_series_is_isolated_and_the_others_kept() -> None:
    frame = pd.DataFrame({"unique_id": ["a", "a", "b", "b"], "ds": [0, 1, 0, 1], "y": 1.0})

    def action(rows: pd.DataFrame) -> pd.DataFrame:
        if (rows["unique_id"] == "b").any():
            raise FloatingPointError("ill-conditioned")
        return rows.assign(done=True)

    result, failures = isolating_failures(action, frame)
    assert result["unique_id"].unique().tolist() == ["a"]
    assert failures == {"b": "FloatingPointError: ill-conditioned"}
