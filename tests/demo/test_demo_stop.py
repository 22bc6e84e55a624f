"""`make demo` told to stop while it collects: by Ctrl-C, or by SIGTERM (a service manager,
`kill`, CI's timeout).

Ctrl-C reaches the demo's whole process group; SIGTERM reaches the demo alone, which must pass it
on. Either way the running stage must stop cleanly, no later stage may start and the sandbox must
stop, so nothing is left running and nothing the collector received is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from collector.harness import query

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 60.0


def _wait_for_line(process: subprocess.Popen[str], marker: str, timeout_s: float) -> list[str]:
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if marker in line:
            return lines
    raise AssertionError(f"no {marker!r} within {timeout_s} s; output:\n{''.join(lines)}")


def _landed_ticks(landing_dir: Path) -> int:
    total = 0
    for path in landing_dir.glob("worker_*.sqlite"):
        try:
            total += query(path, "SELECT count(*) FROM market_ticks")[0][0]
        except sqlite3.OperationalError:
            pass  # the worker has created the file but not its schema yet
    return total


def _send_sigterm_to_the_demo(demo: subprocess.Popen[str]) -> None:
    demo.send_signal(signal.SIGTERM)


def _press_ctrl_c(demo: subprocess.Popen[str]) -> None:
    os.killpg(demo.pid, signal.SIGINT)  # what the terminal does: the whole foreground group


@pytest.mark.parametrize(
    ("stop", "signum", "logged"),
    [
        (_send_sigterm_to_the_demo, signal.SIGTERM, "collect: SIGTERM, waiting for it to stop"),
        (_press_ctrl_c, signal.SIGINT, "collect: interrupted, waiting for it to stop"),
    ],
    ids=["sigterm", "ctrl-c"],
)
def test_stopping_while_collecting_stops_every_process_and_keeps_the_ticks(
    tmp_path: Path,
    stop: Callable[[subprocess.Popen[str]], None],
    signum: int,
    logged: str,
) -> None:
    landing_dir = tmp_path / "landing"
    environment = {
        **os.environ,
        "DWH_DUCKDB_PATH": str(tmp_path / "build.duckdb"),
        "DWH_SERVING_PATH": str(tmp_path / "serving.duckdb"),
        "DWH_LAKE_DIR": str(tmp_path / "lake"),
        "EXTRACT_WORKER_DB_TEMPLATE": str(landing_dir / "worker_{worker_id}.sqlite"),
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "tools.demo", "--source", "sandbox", "--seconds", "300"]
    demo = subprocess.Popen(
        [*command, "--no-serve", "--sandbox-port", "0"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    descendants: list[psutil.Process] = []
    try:
        _wait_for_line(demo, "[demo] collect:", STARTUP_TIMEOUT_S)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while _landed_ticks(landing_dir) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        descendants = psutil.Process(demo.pid).children(recursive=True)
        assert len(descendants) >= 3, "sandbox, collector supervisor and its worker"

        stop(demo)
        output, _ = demo.communicate(timeout=STOP_TIMEOUT_S)
    finally:
        # a failed run must not leave its processes behind for the next test
        if demo.poll() is None:
            descendants += psutil.Process(demo.pid).children(recursive=True)
            demo.kill()
        demo.wait()
        for process in descendants:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    assert demo.returncode == 128 + signum, output
    assert logged in output
    assert "[demo] export:" not in output, "no stage may start after the stop"
    _, alive = psutil.wait_procs(descendants, timeout=5)
    assert alive == [], f"left running: {[process.cmdline() for process in alive]}"
    # the collector drained: what it received is committed, and its exit was logged
    assert _landed_ticks(landing_dir) > 0
    assert "worker_exit" in output
