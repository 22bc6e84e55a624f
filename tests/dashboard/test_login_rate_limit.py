"""Superset refuses logins beyond AUTH_RATE_LIMIT (10 per minute per address), counted in one
SQLite file that every gunicorn worker shares, so two workers do not allow twice the limit."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from superset_config.server import stop_server
from superset_config.settings import (
    SUPERSET_CONFIG_FILE,
    SupersetSettings,
    new_secret,
    superset_venv,
)
from tests.dashboard.superset_process import start_superset

pytestmark = pytest.mark.slow

LOGIN_LIMIT = 10  # superset_config.py: AUTH_RATE_LIMIT = "10 per minute"
WINDOW_S = 60.0
ATTEMPTS = 3 * LOGIN_LIMIT
REQUEST_TIMEOUT_S = 120.0


def settings_in(home: Path) -> SupersetSettings:
    return SupersetSettings(
        home=home,
        secret_key=new_secret(),
        admin_password=new_secret(),
        serving_path=home / "serving.duckdb",
        superset_venv=superset_venv({}),
    )


@pytest.fixture(scope="module")
def two_worker_superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("rate-limited-superset")
    process, base_url = start_superset(settings_in(home), home / "server.log", workers=2)
    try:
        yield base_url
    finally:
        stop_server(process)


def wrong_login(base_url: str) -> int:
    """One REST login with a wrong password, on a new connection (any worker may take it)."""
    response = requests.post(
        f"{base_url}/api/v1/security/login",
        json={"username": "admin", "password": "wrong", "provider": "db", "refresh": False},
        timeout=REQUEST_TIMEOUT_S,
    )
    return response.status_code


def test_wrong_logins_beyond_the_limit_get_429_across_two_workers(two_worker_superset: str) -> None:
    """30 wrong logins, two at a time so both workers answer: at most 10 per minute of them
    reach the password check (401); the rest are refused with 429."""
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(lambda _: wrong_login(two_worker_superset), range(ATTEMPTS)))
    windows = 1 + int((time.monotonic() - started) // WINDOW_S)  # a slow machine: more windows
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(401) <= LOGIN_LIMIT * windows, statuses
    assert statuses.count(429) >= ATTEMPTS - LOGIN_LIMIT * windows, statuses
    assert statuses.count(401) >= 1, "not one attempt reached the password check"


STORAGE_SCRIPT = """
import runpy, sys
storage = runpy.run_path(sys.argv[1])["SQLiteRateLimitStorage"]("dwh+sqlite:///" + sys.argv[2])
print(sum(storage.acquire_entry("login/127.0.0.1", 25, 60) for _ in range(40)))
"""


def test_the_shared_storage_never_lets_two_processes_exceed_the_limit(tmp_path: Path) -> None:
    """Two processes (as two gunicorn workers) take 40 entries each at once from a limit of 25
    per minute on one file: exactly 25 are granted in all."""
    settings = settings_in(tmp_path)
    command = [
        str(settings.python_bin),
        "-c",
        STORAGE_SCRIPT,
        str(SUPERSET_CONFIG_FILE),
        str(tmp_path / "rate_limits.sqlite"),
    ]
    workers = [
        subprocess.Popen(
            command,
            env=settings.process_env(),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    granted = []
    for worker in workers:
        out, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err[-2000:]
        granted.append(int(out.strip()))
    assert sum(granted) == 25, granted
