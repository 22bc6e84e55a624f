"""The collector's running time as data: every clean stop closes its session with a
collector_stop per open connection, its counters and a worker_stop; a killed collector's session
gets its stop inferred at its last committed row when the collector starts again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from collector.harness import control, events, query, report
from collector.processes import landed, lifecycle, pid_alive, start_collector, wait_until
from extract.timeutil import iso_ms_from_epoch_us

pytestmark = [pytest.mark.faults, pytest.mark.slow]

MALFORMED = 7
STOPS = ("sigterm", "ctrl_c", "duration")


def malformed_spent(url: str) -> bool:
    faults = asyncio.run(control(url, "state"))["faults"]
    return any(fault["kind"] == "malformed" and fault["remaining"] == 0 for fault in faults)


def log_fields(log: Path, event: str) -> list[dict[str, str]]:
    lines = [line for line in log.read_text().splitlines() if f" event={event} " in line]
    return [dict(pair.split("=", 1) for pair in line.split() if "=" in pair) for line in lines]


def stop(collector: subprocess.Popen[str], how: str) -> int:
    if how == "sigterm":
        collector.send_signal(signal.SIGTERM)
    elif how == "ctrl_c":
        os.killpg(collector.pid, signal.SIGINT)  # the terminal's Ctrl-C: the whole group
    return collector.wait(timeout=60)


@pytest.mark.parametrize("how", STOPS)
def test_a_clean_stop_closes_the_session_and_lands_every_count(
    tmp_path: Path, start_sandbox: Callable[..., str], how: str
) -> None:
    """SIGTERM, Ctrl-C or the end of --duration-s: the session ends with a collector_stop for the
    open connection (not a disconnect), a final worker_heartbeat and a worker_stop; malformed
    frames counted after the last malformed_message event (status interval 600 s, so only the
    exit can write them) are in the table, which then holds every one of them. The worker runs
    on uvloop, except in the ``duration`` run, which runs it with --no-uvloop on asyncio's."""
    url = start_sandbox("--exchanges", "binance")
    db = tmp_path / "worker_0.sqlite"
    extra = ["--status-interval-s", "600"]
    if how == "duration":
        extra += ["--duration-s", "15", "--no-uvloop"]
    collector = start_collector(tmp_path, url, *extra, new_session=how == "ctrl_c")
    try:
        wait_until(lambda: landed(db) > 0, 90, "the first ticks")
        asyncio.run(
            control(url, "faults", {"kind": "malformed", "exchange": "binance", "count": MALFORMED})
        )
        wait_until(lambda: malformed_spent(url), 30, "the malformed frames to be sent")
        time.sleep(0.5)  # the last of them in flight
        exit_code = stop(collector, how)
    finally:
        if collector.poll() is None:
            collector.kill()
            collector.wait(timeout=10)
    malformed = events(db, "malformed_message")
    heartbeats = events(db, "worker_heartbeat")
    stops = events(db, "collector_stop", "binance")
    kinds = [(kind, details.get("reason")) for kind, _, details in lifecycle(db)]
    exits = log_fields(tmp_path / "collector.log", "worker_exit")
    loops = [x["event_loop"] for x in log_fields(tmp_path / "collector.log", "worker_started")]
    totals = [(beat["final"], beat["malformed"]) for beat in heartbeats]
    report(
        f"a clean stop ({how}) closes the session and lands every count",
        f"{MALFORMED} malformed frames, then {how}",
        f"malformed_message counts add up to {MALFORMED} (= the log's), 1 final heartbeat with "
        "the totals, 1 collector_stop with its connection, no disconnect, worker_start then "
        "worker_stop, exit 0",
        f"counts={[e['count'] for e in malformed]} log malformed="
        f"{[x['malformed'] for x in exits]} heartbeats={totals} "
        f"collector_stop={[(s['connection_id'] is not None, s['reason']) for s in stops]} "
        f"disconnects={len(events(db, 'disconnect'))} lifecycle={kinds} exit={exit_code} "
        f"event loop={loops}",
    )
    assert loops == ["asyncio" if how == "duration" else "uvloop"]
    assert exit_code == 0
    assert sum(event["count"] for event in malformed) == MALFORMED
    assert [int(x["malformed"]) for x in exits] == [MALFORMED]
    assert totals == [(True, MALFORMED)]
    assert len(stops) == 1
    assert stops[0]["connection_id"] is not None
    assert stops[0]["reason"] == "shutdown"
    assert events(db, "disconnect") == []
    assert kinds[0] == ("worker_start", None)
    assert kinds[1][0] == "worker_stop"
    assert len(kinds) == 2


def last_committed_us(db: Path) -> int:
    """The newest reception time of any tick and the newest event time, whichever is later."""
    return int(
        query(
            db,
            "SELECT max(ts) FROM (SELECT max(ingestion_ts_us) AS ts FROM market_ticks "
            "UNION ALL SELECT max(event_ts_us) FROM connection_events)",
        )[0][0]
    )


def test_a_killed_supervisor_leaves_a_stop_inferred_at_its_last_committed_row(
    tmp_path: Path, start_sandbox: Callable[..., str]
) -> None:
    """SIGKILL the supervisor: no stop is recorded, its worker drains and exits. The next start
    writes a worker_stop with {"inferred": true} stamped with the killed session's last committed
    row, before its own worker_start; that run's clean stop is not inferred."""
    url = start_sandbox("--exchanges", "binance")
    db = tmp_path / "worker_0.sqlite"
    collector = start_collector(tmp_path, url)
    try:
        wait_until(lambda: landed(db) > 0, 90, "the first ticks")
        worker_pid = events(db, "worker_start")[-1]["pid"]
        collector.kill()
        collector.wait(timeout=10)
        wait_until(lambda: not pid_alive(worker_pid), 40, "the orphaned worker to drain and exit")
        before_restart = lifecycle(db)
        expected_us = last_committed_us(db)
        collector = start_collector(tmp_path, url, "--duration-s", "3")
        exit_code = collector.wait(timeout=120)
    finally:
        if collector.poll() is None:
            collector.kill()
            collector.wait(timeout=10)
    after = lifecycle(db)
    inferred = after[1]
    report(
        "a SIGKILLed supervisor's session gets a stop inferred at its last committed row",
        "SIGKILL of the supervisor; its worker drains; the collector starts again",
        f"worker_stop inferred at {iso_ms_from_epoch_us(expected_us)}, then the new session",
        f"before restart={[k for k, _, _ in before_restart]} after="
        f"{[(k, iso_ms_from_epoch_us(ts), d.get('inferred')) for k, ts, d in after]} "
        f"exit={exit_code}",
    )
    assert [kind for kind, _, _ in before_restart] == ["worker_start"]
    assert [kind for kind, _, _ in after] == [
        "worker_start",
        "worker_stop",
        "worker_start",
        "worker_stop",
    ]
    assert inferred[2]["inferred"] is True
    assert inferred[1] == expected_us
    assert inferred[2]["pid"] == worker_pid
    assert inferred[1] <= after[2][1], "the inferred stop precedes the next start"
    stop_text = query(
        db,
        "SELECT event_ts_utc FROM connection_events WHERE event_type = 'worker_stop' ORDER BY id",
    )[0][0]
    assert stop_text == iso_ms_from_epoch_us(expected_us)
    assert "inferred" not in after[3][2]
    assert exit_code == 0
