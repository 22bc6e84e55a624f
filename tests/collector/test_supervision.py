"""Worker processes under the supervisor: hard kills lose nothing committed, restarts back off."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from collector.harness import control, events, query, report, sent_count
from collector.processes import (
    REPO_ROOT,
    children,
    landed,
    lifecycle,
    openers,
    pid_alive,
    start_collector,
    wait_until,
    worker_starts,
)
from extract.collector.backoff import Backoff
from extract.collector.supervisor import RestartPolicy
from extract.export.cli import main as export_main

KILLS = 3
BURST = 5_000
STAGED_TICKS = "stg_lake__market_ticks"


@dataclass(frozen=True)
class PipelineCounts:
    """Ticks at each stage: sent by the sandbox, landed (live, all), exported, in the warehouse."""

    sent: int
    landed_live: int
    landed: int
    exported: int
    in_warehouse: int

    def __str__(self) -> str:
        return (
            f"sent={self.sent} landed={self.landed_live} live + "
            f"{self.landed - self.landed_live} backfill, exported={self.exported}, "
            f"in the warehouse={self.in_warehouse}"
        )


def counts_down_the_pipeline(url: str, db: Path, tmp_path: Path) -> PipelineCounts:
    """Export the landing database and build the staging model: how many rows reach each."""
    from tests.fixtures.warehouse import build_warehouse  # imports dbt: only where it is needed

    lake, warehouse = tmp_path / "lake", tmp_path / "warehouse" / "build.duckdb"
    with contextlib.redirect_stdout(io.StringIO()):
        assert export_main(["--input-glob", str(db), "--output-dir", str(lake)]) == 0
    build_warehouse(lake, warehouse, extra_args=["--select", "canonical_assets", STAGED_TICKS])
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        exported = connection.execute(
            f"select count(*) from read_parquet('{lake}/market_ticks/*/*/*.parquet')"
        ).fetchone()
        # staging keeps one row per lake row (duplicates are resolved later, in cleansing)
        in_warehouse = connection.execute(f"select count(*) from staging.{STAGED_TICKS}").fetchone()
    assert exported is not None
    assert in_warehouse is not None
    return PipelineCounts(
        sent=asyncio.run(sent_count(url, "binance")),
        landed_live=query(db, "SELECT count(*) FROM market_ticks WHERE source = 'ws'")[0][0],
        landed=query(db, "SELECT count(*) FROM market_ticks")[0][0],
        exported=int(exported[0]),
        in_warehouse=int(in_warehouse[0]),
    )


@pytest.mark.faults
@pytest.mark.slow
def test_worker_killed_with_sigkill_during_a_burst_loses_no_committed_tick(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """SIGKILL the worker mid-burst, three times: the supervisor restarts it each time (with
    its backoff), every tick committed before a kill is still there afterwards, and the landing
    database passes PRAGMA integrity_check."""
    url = start_sandbox("--exchanges", "binance")
    db = tmp_path / "worker_0.sqlite"
    collector = start_collector(tmp_path, url)
    observed = []
    try:
        for kill in range(1, KILLS + 1):
            wait_until(
                lambda n=kill: worker_starts(db) >= n,
                90,  # the first start waits for the forkserver to import ccxt
                f"worker start #{kill}",
            )
            pid = events(db, "worker_start")[-1]["pid"]
            already = landed(db)
            wait_until(
                lambda before=already: landed(db) > before,
                40,
                "the restarted worker to land ticks",
            )
            asyncio.run(
                control(url, "burst", {"exchange": "binance", "symbol": "BTC/USDT", "count": BURST})
            )
            time.sleep(0.2)  # mid-burst
            max_id, committed = query(db, "SELECT max(id), count(*) FROM market_ticks")[0]
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda n=kill: worker_starts(db) > n, 30, "the restart")
            still_there = query(db, "SELECT count(*) FROM market_ticks WHERE id <= ?", max_id)[0][0]
            observed.append((pid, committed, still_there))
            assert still_there == committed
        wait_until(lambda: worker_starts(db) > KILLS, 30, "the last restart")
    finally:
        collector.send_signal(signal.SIGTERM)
        exit_code = collector.wait(timeout=60)
    restarts = events(db, "worker_restart")
    integrity = query(db, "PRAGMA integrity_check")[0][0]
    counts = counts_down_the_pipeline(url, db, tmp_path)
    report(
        "SIGKILL during a burst loses no committed tick; the supervisor restarts the worker",
        f"{KILLS} x SIGKILL of the worker 0.2 s into a burst of {BURST} updates",
        "every committed row survives each kill, a worker_restart per kill, integrity ok; every "
        "landed row exported and in the warehouse",
        f"(pid, committed before kill, present after) = {observed}; restarts="
        f"{[(r['exit_code'], r['delay_s']) for r in restarts]}; integrity={integrity}; "
        f"supervisor exit={exit_code}; {counts}",
    )
    assert counts.landed == counts.exported == counts.in_warehouse
    assert counts.landed_live <= counts.sent, "live rows are updates the sandbox sent"
    assert integrity == "ok"
    assert [r["exit_code"] for r in restarts] == [-signal.SIGKILL] * KILLS
    assert [r["delay_s"] for r in restarts] == [0.5, 1.0, 2.0]
    assert exit_code == 0
    assert events(db, "worker_stop")[-1]["reason"] == "stop requested"


def test_restart_policy_backs_off_exponentially_caps_resets_and_gives_up() -> None:
    policy = RestartPolicy(Backoff(base_s=1.0, max_s=10.0), stable_window_s=60.0, retry_budget=3)
    assert [policy.delay_s(n) for n in range(1, 7)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    failures = 0
    for _ in range(3):
        failures = policy.failures_after_exit(failures, ran_for_s=5.0)
    assert failures == 3
    assert not policy.gives_up(failures)
    assert policy.gives_up(policy.failures_after_exit(failures, ran_for_s=5.0))
    assert policy.failures_after_exit(failures, ran_for_s=60.0) == 1, "a stable run resets"


@pytest.mark.faults
@pytest.mark.slow
def test_a_worker_that_keeps_failing_is_given_up_after_the_retry_budget(
    tmp_path: Path, sandbox_url: str
) -> None:
    """A worker whose landing database cannot be opened exits at once, again and again: the
    supervisor restarts it with growing delays, marks it failed after the retry budget instead
    of looping forever, and the collector exits 1."""
    blocker = tmp_path / "not_a_directory"
    blocker.write_text("a file where the landing directory should be")
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "extract",
            "run",
            "--sandbox",
            sandbox_url,
            "--exchanges",
            "binance",
            "--workers",
            "1",
            "--worker-db-template",
            str(blocker / "worker_{worker_id}.sqlite"),
            "--plan-output",
            str(tmp_path / "plan.json"),
            "--restart-base-s",
            "0.1",
            "--restart-max-s",
            "0.2",
            "--retry-budget",
            "2",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    lines = completed.stderr.splitlines()
    restarts = [line for line in lines if "event=worker_restart" in line]
    report(
        "a crash-looping worker is given up after the retry budget",
        "a landing path that cannot be created (worker exits 3 at start)",
        "2 worker_restart (delays 0.1, 0.2), 1 worker_failed_permanently, exit 1",
        f"restarts={len(restarts)} failed_permanently="
        f"{sum('event=worker_failed_permanently' in line for line in lines)} "
        f"exit={completed.returncode}",
    )
    assert completed.returncode == 1
    assert len(restarts) == 2
    assert "delay_s=0.1" in restarts[0]
    assert "delay_s=0.2" in restarts[1]
    assert sum("event=landing_open_failed" in line for line in lines) == 3
    assert sum("event=worker_failed_permanently" in line for line in lines) == 1


@pytest.mark.faults
@pytest.mark.slow
def test_workers_of_a_killed_supervisor_drain_and_exit_instead_of_running_on(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """SIGKILL the supervisor: its worker notices within seconds, commits what it holds and
    exits, so no unsupervised collector keeps writing next to a restarted one."""
    url = start_sandbox("--exchanges", "binance")
    db = tmp_path / "worker_0.sqlite"
    collector = start_collector(tmp_path, url)
    try:
        wait_until(lambda: worker_starts(db) >= 1, 90, "the worker to start")
        wait_until(lambda: landed(db) > 0, 40, "the first ticks")
        worker_pid = events(db, "worker_start")[-1]["pid"]
        collector.kill()
        collector.wait(timeout=10)
        wait_until(lambda: not pid_alive(worker_pid), 30, "the orphaned worker to exit")
    finally:
        if collector.poll() is None:
            collector.kill()
    log = (tmp_path / "collector.log").read_text()
    exit_lines = [line for line in log.splitlines() if "event=worker_exit" in line]
    report(
        "workers of a killed supervisor drain and exit",
        "SIGKILL of the supervisor process",
        "event=supervisor_gone, then event=worker_exit with every captured tick landed",
        f"supervisor_gone={'event=supervisor_gone' in log} exit_lines={exit_lines}",
    )
    assert "event=supervisor_gone" in log
    assert len(exit_lines) == 1
    fields = dict(pair.split("=", 1) for pair in exit_lines[0].split() if "=" in pair)
    assert fields["ticks_landed"] == fields["ticks_captured"]
    assert landed(db) == int(fields["ticks_landed"])


@pytest.mark.faults
@pytest.mark.slow
def test_killing_the_forkserver_a_worker_and_the_supervisor_in_turn_leaves_one_writer(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """Kill, in turn, the forkserver, the worker and the supervisor (restarted at once). After
    each, exactly one process holds the landing file: the forkserver's death is not a worker's
    (the worker runs on, supervised, no restart); a killed worker is restarted once; the
    restarted supervisor ends the orphan before its own worker starts and infers the orphan's
    stop."""
    url = start_sandbox("--exchanges", "binance")
    db = tmp_path / "worker_0.sqlite"
    collector = start_collector(tmp_path, url)
    holders: list[tuple[str, set[int]]] = []

    def ticks_keep_landing(what: str) -> None:
        before = landed(db)
        wait_until(lambda: landed(db) > before, 30, f"ticks after {what}")

    def one_writer(what: str, pid: int) -> None:
        wait_until(lambda: openers(db) == {pid}, 30, f"worker {pid} alone on the file ({what})")
        holders.append((what, openers(db)))

    try:
        wait_until(lambda: landed(db) > 0, 90, "the first ticks")
        first = events(db, "worker_start")[-1]["pid"]
        one_writer("start", first)
        [forkserver] = children(collector.pid, "forkserver")
        os.kill(forkserver, signal.SIGKILL)
        ticks_keep_landing("the forkserver died")
        time.sleep(2.0)  # the forkserver's pipe closed at once: a pipe-based supervisor restarts
        assert worker_starts(db) == 1
        assert events(db, "worker_restart") == []
        assert pid_alive(first)
        one_writer("forkserver killed", first)

        os.kill(first, signal.SIGKILL)
        wait_until(lambda: worker_starts(db) >= 2, 60, "the killed worker's restart")
        second = events(db, "worker_start")[-1]["pid"]
        ticks_keep_landing("the worker restarted")
        one_writer("worker killed", second)

        collector.kill()
        collector.wait(timeout=10)
        collector = start_collector(tmp_path, url)
        wait_until(lambda: worker_starts(db) >= 3, 90, "the new supervisor's worker")
        orphan_gone_before_start = not pid_alive(second)
        third = events(db, "worker_start")[-1]["pid"]
        ticks_keep_landing("the supervisor restarted")
        one_writer("supervisor killed", third)
    finally:
        collector.send_signal(signal.SIGTERM)
        exit_code = collector.wait(timeout=60)
    kinds = [(kind, details.get("inferred", False)) for kind, _, details in lifecycle(db)]
    report(
        "whoever dies, exactly one process writes the landing file",
        "SIGKILL of the forkserver, then of the worker, then of the supervisor (restarted)",
        "no restart for the forkserver; 1 restart for the worker; the orphan gone before the "
        "new supervisor's worker starts, its stop inferred; one holder of the file each time",
        f"holders={holders} orphan_gone_before_start={orphan_gone_before_start} "
        f"lifecycle={kinds} exit={exit_code}",
    )
    assert orphan_gone_before_start
    assert kinds == [
        ("worker_start", False),
        ("worker_restart", False),
        ("worker_start", False),
        ("worker_stop", True),
        ("worker_start", False),
        ("worker_stop", False),
    ]
    assert exit_code == 0
