"""Set Superset up in a fresh SUPERSET_HOME and serve it on a free port of 127.0.0.1.

Shared by the dashboard tests' session fixture and ``bench/dashboard.py``.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

from superset_config.server import (
    check_admin_output,
    finish_commands,
    setup_commands,
    start_commands,
    start_server,
    stop_server,
    wait_until_healthy,
)
from superset_config.settings import SupersetSettings
from tests.dashboard.metadata_cache import initialise_and_cache, restore_initialised_metadata


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_superset(
    settings: SupersetSettings, log_path: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str]:
    """Set up Superset in ``settings.home`` (reusing a cached initialisation) and serve it with
    ``workers`` gunicorn workers."""
    if not restore_initialised_metadata(settings):
        initialise_and_cache(settings)
    output = finish_commands(
        settings, start_commands(settings, setup_commands(settings, initialise=False))
    )
    if not check_admin_output(settings, output):
        raise RuntimeError(f"{settings.home} already had an admin user: not a fresh home")
    port = free_port()
    process = start_server(settings, "127.0.0.1", port, workers=workers, log_path=log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
    except BaseException:
        stop_server(process)
        raise
    return process, base_url
