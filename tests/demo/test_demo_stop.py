"""`make demo` told to stop with SIGTERM (a service manager, `kill`, CI's timeout), not Ctrl-C.

The signal reaches the demo alone, not its process group; the demo must pass it on to the stage
that runs, wait for it to stop cleanly, start no later stage and stop its sandbox, so nothing is
left running and nothing the collector received is lost.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil

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
        connection = sqlite3.connect(path)
        try:
            total += connection.execute("SELECT count(*) FROM market_ticks").fetchone()[0]
        except sqlite3.OperationalError:
            pass  # the worker has created the file but not its schema yet
        finally:
            connection.close()
    return total


def test_sigterm_while_collecting_stops_every_process_and_keeps_the_ticks(tmp_path: Path) -> None:
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
    )
    descendants: list[psutil.Process] = []
    try:
        _wait_for_line(demo, "[demo] collect:", STARTUP_TIMEOUT_S)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while _landed_ticks(landing_dir) == 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        descendants = psutil.Process(demo.pid).children(recursive=True)
        assert len(descendants) >= 3, "sandbox, collector supervisor and its worker"

        demo.send_signal(signal.SIGTERM)
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

    assert demo.returncode == 128 + signal.SIGTERM, output
    assert "collect: SIGTERM, waiting for it to stop" in output
    assert "[demo] export:" not in output, "no stage may start after SIGTERM"
    _, alive = psutil.wait_procs(descendants, timeout=5)
    assert alive == [], f"left running: {[process.cmdline() for process in alive]}"
    # the collector drained: what it received is committed, and its exit was logged
    assert _landed_ticks(landing_dir) > 0
    assert "worker_exit" in output
