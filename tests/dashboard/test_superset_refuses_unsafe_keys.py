"""Superset, loading superset_config.py, refuses to start without a strong SECRET_KEY."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from superset_config.settings import SupersetSettings, new_secret, superset_venv

pytestmark = pytest.mark.slow

SUPERSET_DEFAULT_KEY = "CHANGE_ME_TO_A_COMPLEX_RANDOM_SECRET"


def superset_version(tmp_path: Path, secret_key: str | None) -> subprocess.CompletedProcess[str]:
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
    return subprocess.run(
        [str(settings.superset_venv / "bin" / "superset"), "version"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("secret_key", "message"),
    [
        (None, "SUPERSET_SECRET_KEY is not set"),
        (SUPERSET_DEFAULT_KEY, "Superset's default"),
        ("too-short-a-key", "shorter than 32 characters"),
    ],
)
def test_superset_refuses_to_start_without_a_strong_secret_key(
    tmp_path: Path, secret_key: str | None, message: str
) -> None:
    completed = superset_version(tmp_path, secret_key)
    assert completed.returncode != 0
    assert message in completed.stderr + completed.stdout


def test_superset_starts_with_a_generated_key(tmp_path: Path) -> None:
    completed = superset_version(tmp_path, new_secret())
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert "Superset" in completed.stdout + completed.stderr
