"""Configuration: every original option exists, values are validated, CLI > env > YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from extract.collector.config import DEFAULT_SANDBOX_URL, ConfigError, build_parser, load_config

ORIGINAL_OPTIONS = (
    "--exchanges",
    "--exchanges-exclude",
    "--max-exchanges",
    "--max-symbols-per-exchange",
    "--max-symbol-streams-per-exchange",
    "--only-spot",
    "--only-watch-tickers",
    "--queue-size",
    "--batch-size",
    "--flush-interval-s",
    "--exchange-start-delay-s",
    "--reconnect-base-s",
    "--reconnect-max-s",
    "--workers",
    "--max-auto-workers",
    "--profile-seconds",
    "--restart-base-s",
    "--restart-max-s",
    "--plan-output",
    "--worker-db-template",
    "--dry-run",
    "--log-level",
    "--log-file",
    "--duration-s",
    "--sandbox",
    "--config",
)


def test_every_original_option_is_accepted() -> None:
    flags = {flag for action in build_parser()._actions for flag in action.option_strings}
    assert set(ORIGINAL_OPTIONS) <= flags


def test_defaults_match_the_documented_ones() -> None:
    config = load_config([], environ={})
    assert config.worker_db_template == "data/landing/worker_{worker_id}.sqlite"
    assert config.worker_db_path(3) == Path("data/landing/worker_3.sqlite")
    assert config.only_spot is True
    assert config.exchanges == ()
    assert config.sandbox == ""


def test_sandbox_flag_without_url_uses_the_default_port() -> None:
    assert load_config(["--sandbox"], environ={}).sandbox == DEFAULT_SANDBOX_URL
    assert load_config(["--sandbox", "http://127.0.0.1:9"], environ={}).sandbox == (
        "http://127.0.0.1:9"
    )


def test_cli_beats_environment_beats_yaml(tmp_path: Path) -> None:
    yaml_file = tmp_path / "collector.yaml"
    yaml_file.write_text("batch_size: 10\nflush-interval-s: 2.5\nexchanges: [binance, okx]\n")
    env = {"EXTRACT_BATCH_SIZE": "20", "EXTRACT_ONLY_SPOT": "false"}
    config = load_config(["--config", str(yaml_file), "--batch-size", "30"], environ=env)
    assert config.batch_size == 30
    assert config.flush_interval_s == 2.5
    assert config.exchanges == ("binance", "okx")
    assert config.only_spot is False
    assert load_config(["--config", str(yaml_file)], environ=env).batch_size == 20


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be >= 1"),
        (["--batch-size", "ten"], "--batch-size (options): expected int"),
        (["--flush-interval-s", "-1"], "--flush-interval-s must be > 0"),
        (["--log-level", "LOUD"], "--log-level must be one of"),
        (["--reconnect-base-s", "10", "--reconnect-max-s", "5"], "must not exceed"),
        (["--worker-db-template", "data/landing/one.sqlite"], "must contain {worker_id}"),
        (["--exchanges", "binance", "--exchanges-exclude", "binance"], "both included and"),
        (["--sandbox", "ftp://x"], "--sandbox must be an http:// URL"),
    ],
)
def test_bad_values_raise_one_clear_error(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=None) as caught:
        load_config(argv, environ={})
    assert message in str(caught.value)


def test_bad_environment_and_yaml_are_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"environment"):
        load_config([], environ={"EXTRACT_WORKERS": "-1"})
    yaml_file = tmp_path / "bad.yaml"
    yaml_file.write_text("no_such_option: 1\n")
    with pytest.raises(ConfigError, match=r"unknown option 'no_such_option'"):
        load_config(["--config", str(yaml_file)], environ={})
    with pytest.raises(ConfigError, match=r"cannot read"):
        load_config(["--config", str(tmp_path / "missing.yaml")], environ={})


def test_config_survives_the_trip_to_a_worker_process() -> None:
    config = load_config(["--exchanges", "binance,okx", "--batch-size", "7"], environ={})
    assert type(config).from_json(config.to_json()) == config
