"""Run the real collector (``python -m extract run``) as a process, and look at its processes.

Every wait is bounded; every process a test starts is stopped by the test, by its pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from collector.harness import events, query

REPO_ROOT = Path(__file__).resolve().parents[2]


def start_collector(
    tmp_path: Path, url: str, *extra: str, new_session: bool = False
) -> subprocess.Popen[str]:
    """The collector on binance with one worker, fast restarts, logging to collector.log;
    ``new_session`` gives it its own process group (to send it Ctrl-C as a terminal would)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "extract",
            "run",
            "--sandbox",
            url,
            "--exchanges",
            "binance",
            "--workers",
            "1",
            "--worker-db-template",
            str(tmp_path / "worker_{worker_id}.sqlite"),
            "--plan-output",
            str(tmp_path / "plan.json"),
            "--flush-interval-s",
            "0.1",
            "--restart-base-s",
            "0.5",
            "--restart-max-s",
            "2",
            "--stable-window-s",
            "120",
            "--retry-budget",
            "5",
            "--stale-after-s",
            "10",
            "--log-file",
            str(tmp_path / "collector.log"),
            *extra,
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=new_session,
    )


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.1)


def landed(db: Path) -> int:
    try:
        return int(query(db, "SELECT count(*) FROM market_ticks")[0][0])
    except sqlite3.OperationalError:  # not created yet
        return 0


def worker_starts(db: Path) -> int:
    try:
        return len(events(db, "worker_start"))
    except sqlite3.OperationalError:
        return 0


def lifecycle(db: Path) -> list[tuple[str, int, dict[str, object]]]:
    """The lifecycle events of a landing database in order: (type, event_ts_us, details)."""
    rows = query(
        db,
        "SELECT event_type, event_ts_us, details_json FROM connection_events WHERE event_type IN "
        "('worker_start', 'worker_stop', 'worker_restart', 'worker_failed_permanently') "
        "ORDER BY id",
    )
    return [(kind, ts, json.loads(details)) for kind, ts, details in rows]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by its parent) counts as gone
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return status != "Z"
    return True


def openers(path: Path) -> set[int]:
    """The live processes that hold ``path`` open (from /proc/<pid>/fd)."""
    target = str(path.resolve())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == target:
                        found.add(int(entry.name))
                        break
    return {pid for pid in found if pid_alive(pid)}


def children(pid: int, command_contains: str) -> list[int]:
    """Live child processes of ``pid`` whose command line contains the text."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if parent == pid and command_contains in command and pid_alive(int(entry.name)):
                found.append(int(entry.name))
    return found
