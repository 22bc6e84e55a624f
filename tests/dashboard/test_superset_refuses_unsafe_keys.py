"""superset_config.py refuses a missing, default or short SECRET_KEY, so Superset cannot start.

One case runs the real ``superset`` CLI (slow: it imports all of Superset); the others load
the config file alone in the Superset venv, which is what Superset does first.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from superset_config.settings import SUPERSET_CONFIG_FILE, SupersetSettings, superset_venv

SUPERSET_DEFAULT_KEY = "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"


def superset_env(tmp_path: Path, secret_key: str | None) -> tuple[SupersetSettings, dict[str, str]]:
    settings = SupersetSettings(
        home=tmp_path,
        secret_key=secret_key or "",
        admin_password="unused",
        serving_path=tmp_path / "serving.duckdb",
        superset_venv=superset_venv({}),
    )
    env = settings.process_env()
    if secret_key is None:
        del env["SUPERSET_SECRET_KEY"]
    return settings, env


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180, check=False
    )


@pytest.mark.slow
def test_superset_refuses_to_start_with_its_default_key(tmp_path: Path) -> None:
    settings, env = superset_env(tmp_path, SUPERSET_DEFAULT_KEY)
    completed = run([str(settings.superset_venv / "bin" / "superset"), "version"], env, tmp_path)
    assert completed.returncode != 0
    assert "SUPERSET_SECRET_KEY is Superset's default" in completed.stderr


@pytest.mark.parametrize(
    ("secret_key", "message"),
    [
        (None, "SUPERSET_SECRET_KEY is not set"),
        ("", "SUPERSET_SECRET_KEY is not set"),
        ("too-short-a-key", "shorter than 32 characters"),
        ("x" * 48, None),
    ],
)
def test_config_accepts_only_a_long_non_default_key(
    tmp_path: Path, secret_key: str | None, message: str | None
) -> None:
    settings, env = superset_env(tmp_path, secret_key)
    load_config = f"import runpy; runpy.run_path({str(SUPERSET_CONFIG_FILE)!r})"
    completed = run([str(settings.python_bin), "-c", load_config], env, tmp_path)
    if message is None:
        assert completed.returncode == 0, completed.stderr[-2000:]
    else:
        assert completed.returncode != 0
        assert message in completed.stderr
