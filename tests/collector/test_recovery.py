"""What a start finds of a killed collector: the landing lock, the stop to infer; the backoff."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collector.harness import events
from extract.collector.backoff import Backoff
from extract.collector.config import build_config
from extract.collector.landing_lock import LandingLock, lock_path
from extract.collector.records import ConnectionEvent, Tick
from extract.collector.recovery import inferred_stop
from extract.collector.writer import LandingWriter, append_events
from extract.timeutil import iso_ms_from_epoch_us

START_US = 1_795_238_600_000_000


def event(event_type: str, ts_us: int, **details: object) -> ConnectionEvent:
    return ConnectionEvent(ts_us, None, None, event_type, json.dumps(details), None)


def live_tick(ts_us: int) -> Tick:
    return Tick(
        iso_ms_from_epoch_us(ts_us),
        "binance",
        "BTC/USDT",
        "spot",
        100.0,
        99.0,
        101.0,
        100.0,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        ts_us,
        "missing",
        "ws",
        "c1",
    )


def landing(tmp_path: Path, ticks: list[int], lifecycle: list[tuple[str, int]]) -> Path:
    db = tmp_path / "worker_0.sqlite"
    writer = LandingWriter(db, 0)
    writer.write([live_tick(ts) for ts in ticks], [])
    writer.close()
    append_events(db, [event(kind, ts, pid=4242) for kind, ts in lifecycle], 0)
    return db


def test_a_session_without_a_stop_gets_one_at_its_last_committed_tick(tmp_path: Path) -> None:
    db = landing(tmp_path, [START_US + 1_000, START_US + 9_000], [("worker_start", START_US)])
    append_events(db, [event("connected", START_US + 5_000)], 0)
    stop = inferred_stop(db)
    assert stop is not None
    assert stop.event_ts_us == START_US + 9_000
    [stored] = events(db, "worker_stop")
    assert stored["ts_us"] == START_US + 9_000
    assert stored["inferred"] is True
    assert stored["last_row"] == "tick"
    assert stored["pid"] == 4242
    assert stored["session_start_utc"] == iso_ms_from_epoch_us(START_US)
    assert inferred_stop(db) is None, "inferred once: the session is closed now"


def test_the_stop_is_the_last_event_when_it_is_later_than_every_tick(tmp_path: Path) -> None:
    db = landing(tmp_path, [START_US - 5_000], [("worker_start", START_US)])
    append_events(db, [event("reconnect_wait", START_US + 7_000)], 0)
    stop = inferred_stop(db)
    assert stop is not None
    assert stop.event_ts_us == START_US + 7_000, "a tick of an earlier session does not count"
    assert json.loads(stop.details_json)["last_row"] == "event"


@pytest.mark.parametrize("last", ["worker_stop", "worker_restart", "worker_failed_permanently"])
def test_a_closed_session_gets_no_inferred_stop(tmp_path: Path, last: str) -> None:
    db = landing(tmp_path, [START_US + 1_000], [("worker_start", START_US), (last, START_US + 2)])
    assert inferred_stop(db) is None
    assert len(events(db, "worker_stop")) == (last == "worker_stop")


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    assert inferred_stop(tmp_path / "worker_9.sqlite") is None
    assert not (tmp_path / "worker_9.sqlite").exists()


def test_the_landing_lock_has_one_holder_at_a_time(tmp_path: Path) -> None:
    db = tmp_path / "worker_0.sqlite"
    first, second = LandingLock(db), LandingLock(db)
    assert first.try_acquire(pid=os.getpid(), supervisor_pid=1)
    assert not second.try_acquire(pid=123, supervisor_pid=456)
    assert second.holder() == {"pid": os.getpid(), "supervisor_pid": 1}
    first.release()
    assert second.try_acquire(pid=123, supervisor_pid=456)
    assert first.holder() == {"pid": 123, "supervisor_pid": 456}
    assert lock_path(db) == tmp_path / "worker_0.sqlite.lock"
    second.release()


def test_the_backoff_doubles_caps_and_honours_retry_after_within_the_cap() -> None:
    backoff = Backoff(base_s=0.5, max_s=4.0)
    assert [backoff.delay_s(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.delay_s(1, retry_after_s=3.0) == 3.0
    assert backoff.delay_s(3, retry_after_s=1.0) == 2.0, "never shorter than the backoff"
    assert backoff.delay_s(1, retry_after_s=3600.0) == 4.0, "a long Retry-After is capped"
    assert backoff.delay_s(10_000) == 4.0


def test_existing_worker_databases_are_found_for_any_worker_id(tmp_path: Path) -> None:
    config = build_config({"worker_db_template": str(tmp_path / "w_{worker_id}.db")}, source="t")
    for name in ("w_0.db", "w_12.db", "w_x.db", "w_3.db-wal", "w_3.db.lock", "other.db"):
        (tmp_path / name).write_text("")
    assert config.existing_worker_db_paths() == [tmp_path / "w_0.db", tmp_path / "w_12.db"]
