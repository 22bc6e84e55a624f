"""`python -m tools.refresh`: one cycle exports, builds, forecasts when due and publishes; two
cycles never overlap; a failed step publishes nothing.

Real landing SQLite databases, the real exporter, real dbt on the real project, real forecasting
and publish, each as the subprocess the cycle starts.
"""

from __future__ import annotations

import os
import queue
import re
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import duckdb
import pytest

from tests.export.landing_factory import insert_ticks, make_landing, tick_rows
from tools.refresh import EXIT_BUSY, StepFailed, main, paths_from_env, run_step

REPO_ROOT = Path(__file__).resolve().parents[2]
CYCLE_TIMEOUT_S = 420.0
FIRST_STEP_TIMEOUT_S = 60.0


def cycle_environment(root: Path) -> dict[str, str]:
    return {
        "DWH_LAKE_DIR": str(root / "lake"),
        "DWH_DUCKDB_PATH": str(root / "warehouse" / "build.duckdb"),
        "DWH_SERVING_PATH": str(root / "warehouse" / "serving.duckdb"),
        "DBT_TARGET_PATH": str(root / "dbt_target"),
        "DBT_LOG_PATH": str(root / "dbt_logs"),
    }


def refresh_command(landing_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tools.refresh",
        "--input-glob",
        str(landing_dir / "worker_*.sqlite"),
    ]


def start_cycle(landing_dir: Path, environment: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        refresh_command(landing_dir),
        cwd=REPO_ROOT,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def lines_of(process: subprocess.Popen[str]) -> tuple[queue.Queue[str | None], threading.Thread]:
    """Every output line of the process, read by a thread (returned); None after the last."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    return lines, reader


def read_until(lines: queue.Queue[str | None], marker: str, timeout_s: float) -> list[str]:
    """Lines up to and including the first containing ``marker`` (or the end of output)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            return seen
        seen.append(line)
        if marker in line:
            return seen
    raise AssertionError(f"no {marker!r} within {timeout_s} s; output so far:\n{''.join(seen)}")


def landed(path: Path) -> tuple[int, int]:
    """(ticks, newest reception time in epoch µs) in a landing database."""
    with closing(sqlite3.connect(path)) as connection:
        row = connection.execute(
            "select count(*), max(ingestion_ts_us) from market_ticks"
        ).fetchone()
    return int(row[0]), int(row[1])


def published(serving_path: Path) -> tuple[int, int, int]:
    """(staged ticks, newest one in epoch µs, grid rows) in the published warehouse."""
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        staged = connection.execute(
            "select count(*), epoch_us(max(ingestion_ts_utc)) from staging.stg_lake__market_ticks"
        ).fetchone()
        grid = connection.execute("select count(*) from cleansing.cln_market_grid").fetchone()
    assert staged is not None
    assert grid is not None
    return int(staged[0]), int(staged[1]), int(grid[0])


@pytest.mark.slow
def test_a_cycle_publishes_new_ticks_while_a_second_cycle_is_refused_then_forecasts_only_when_due(
    tmp_path: Path,
) -> None:
    landing_dir = tmp_path / "landing"
    landing_dir.mkdir()
    recent_us = time.time_ns() // 1000 - 20 * 60 * 1_000_000
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=3_000, start_us=recent_us)
    environment = cycle_environment(tmp_path)
    serving = Path(environment["DWH_SERVING_PATH"])

    with start_cycle(landing_dir, environment) as first:
        first_lines, reader = lines_of(first)
        output = read_until(first_lines, "[refresh] export:", FIRST_STEP_TIMEOUT_S)
        # The first cycle holds the lock from before its first step to its end: a second one,
        # started now, is refused and does nothing.
        second = subprocess.run(
            refresh_command(landing_dir),
            cwd=REPO_ROOT,
            env={**os.environ, **environment},
            capture_output=True,
            text=True,
            timeout=FIRST_STEP_TIMEOUT_S,
            check=False,
        )
        assert second.returncode == EXIT_BUSY, second.stdout + second.stderr
        assert "another refresh cycle is running" in second.stdout
        assert "[refresh] export:" not in second.stdout
        output += read_until(first_lines, "[refresh] freshness:", CYCLE_TIMEOUT_S)
        assert first.wait(timeout=CYCLE_TIMEOUT_S) == 0, "".join(output)
        reader.join(timeout=FIRST_STEP_TIMEOUT_S)
        assert not reader.is_alive()
    finished_us = time.time_ns() // 1000

    text = "".join(output)
    for step in ("export", "build", "forecast", "build forecast marts", "publish"):
        assert re.search(rf"\[refresh\] {step}: done in \d+\.\d s", text), text
    ticks, newest_us = landed(landing.path)
    staged, staged_newest_us, grid_rows = published(serving)
    assert (staged, staged_newest_us) == (ticks, newest_us)
    assert grid_rows > 0
    age = re.search(r"\[refresh\] freshness: newest tick \S+, (\d+) s old", text)
    assert age is not None, text
    assert abs(int(age.group(1)) - (finished_us - newest_us) / 1e6) < 30

    # New ticks arrive; the next cycle publishes them, and the forecast is not due yet.
    insert_ticks(landing.path, tick_rows(500, start_us=newest_us + 1_000, seed=5))
    second_cycle = subprocess.run(
        refresh_command(landing_dir),
        cwd=REPO_ROOT,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=CYCLE_TIMEOUT_S,
        check=False,
    )
    assert second_cycle.returncode == 0, second_cycle.stdout + second_cycle.stderr
    assert "[refresh] forecast: not due" in second_cycle.stdout
    assert "market_ticks=500 " in second_cycle.stdout
    ticks, newest_us = landed(landing.path)
    assert published(serving)[:2] == (ticks, newest_us)


def test_a_failed_step_stops_the_cycle_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    landing_dir = tmp_path / "landing"
    landing_dir.mkdir()
    (landing_dir / "worker_0.sqlite").write_bytes(b"not a database" * 100)
    for name, value in cycle_environment(tmp_path).items():
        monkeypatch.setenv(name, value)

    code = main(["--input-glob", str(landing_dir / "worker_*.sqlite")])

    output = capsys.readouterr().out
    assert code == 1
    assert "[refresh] export failed with exit status 1 after" in output
    assert "nothing published" in output
    assert "[refresh] build:" not in output
    assert not (tmp_path / "warehouse" / "serving.duckdb").exists()


def test_a_step_killed_by_a_signal_fails_the_cycle_with_status_1_and_names_the_signal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in cycle_environment(tmp_path).items():
        monkeypatch.setenv(name, value)
    suicide = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"]

    with pytest.raises(StepFailed) as failure:
        run_step("build", suicide, paths_from_env())

    assert failure.value.exit_code == 1
    assert "[refresh] build failed with signal 9 after" in capsys.readouterr().out
