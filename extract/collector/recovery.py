"""Before a worker starts on a landing database: end what a killed collector left behind.

- **An orphan still writing the file.** A worker whose supervisor was SIGKILLed drains and exits
  on its own within seconds, but a supervisor restarted at once would find it still holding the
  file's lock (:mod:`extract.collector.landing_lock`). It gets SIGTERM (it commits what it holds
  and exits), and SIGKILL after ``drain_timeout_s``; only then does the new worker start. A file
  held by a worker of another collector that is still running is refused (:class:`LandingInUse`):
  two collectors must not share landing files.
- **A session that was never closed.** When the file's last lifecycle event (worker_start,
  worker_stop, worker_restart, worker_failed_permanently) is a ``worker_start``, the collector that
  wrote it was killed before it could record the stop. A ``worker_stop`` is written for it,
  stamped with the session's last committed row (the later of its last tick's reception time and
  its last event's time) and details ``{"inferred": true, ...}``, so the time it watched ends
  where its data ends (dbt: ``cln_collector_sessions``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from pathlib import Path

from extract.collector.landing_lock import LandingLock
from extract.collector.logs import log_event
from extract.collector.pids import process_alive
from extract.collector.records import ConnectionEvent
from extract.collector.writer import append_events, open_landing
from extract.timeutil import iso_ms_from_epoch_us

LIFECYCLE_EVENTS = ("worker_start", "worker_stop", "worker_restart", "worker_failed_permanently")
KILL_GRACE_S = 5.0
POLL_S = 0.1


class LandingInUse(RuntimeError):
    """A live process of another collector holds the landing database (or would not die)."""


def inferred_stop(db_path: Path) -> ConnectionEvent | None:
    """The worker_stop a killed session never wrote, or None when the last session was closed
    (or the file has none)."""
    if not db_path.exists():
        return None
    connection = open_landing(db_path)
    try:
        placeholders = ", ".join("?" * len(LIFECYCLE_EVENTS))
        last = connection.execute(
            "SELECT id, event_type, event_ts_us, worker_id, details_json FROM connection_events "
            f"WHERE event_type IN ({placeholders}) ORDER BY id DESC LIMIT 1",
            LIFECYCLE_EVENTS,
        ).fetchone()
        if last is None or last[1] != "worker_start":
            return None
        start_id, _, start_us, worker_id, start_details = last
        start_us = int(start_us or 0)
        last_event_us = connection.execute(
            "SELECT max(event_ts_us) FROM connection_events WHERE id > ?", (start_id,)
        ).fetchone()[0]
        # rows are committed in reception order, so the newest tick by id is the session's last
        last_tick = connection.execute(
            "SELECT ingestion_ts_us FROM market_ticks ORDER BY id DESC LIMIT 1"
        ).fetchone()
    finally:
        connection.close()
    last_tick_us = last_tick[0] if last_tick and (last_tick[0] or 0) >= start_us else None
    candidates = {"tick": last_tick_us, "event": last_event_us, "worker_start": start_us}
    last_row, stop_us = max(
        ((name, int(value)) for name, value in candidates.items() if value is not None),
        key=lambda item: item[1],
    )
    try:
        started = json.loads(start_details or "{}")
    except ValueError:
        started = {}
    details = {
        "inferred": True,
        "reason": "no stop recorded (the collector was killed)",
        "last_row": last_row,
        "session_start_utc": iso_ms_from_epoch_us(start_us),
        "pid": started.get("pid") if isinstance(started, dict) else None,
    }
    event = ConnectionEvent(
        event_ts_us=stop_us,
        exchange_id=None,
        symbol=None,
        event_type="worker_stop",
        details_json=json.dumps(details, sort_keys=True),
        connection_id=None,
    )
    append_events(db_path, [event], worker_id)
    return event


def _signal(pid: int, signum: signal.Signals, worker_id: int | None, db_path: Path) -> None:
    log_event(
        logging.WARNING,
        "orphan_terminated",
        exchange=None,
        worker=worker_id,
        pid=pid,
        signal=signum.name,
        db=str(db_path),
    )
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


async def recover_landing(
    db_path: Path, *, worker_id: int | None, drain_timeout_s: float
) -> ConnectionEvent | None:
    """Free the landing database for a new worker of this process and close a session a kill
    left open; returns the inferred stop, if one was written."""
    lock = LandingLock(db_path)
    me = os.getpid()
    started = time.monotonic()
    sent: set[signal.Signals] = set()
    while True:
        try:
            acquired = lock.try_acquire(pid=me, supervisor_pid=me)
        except OSError:
            return None  # no landing directory: nothing to recover; the worker will say why
        if acquired:
            try:
                return await asyncio.to_thread(inferred_stop, db_path)
            finally:
                lock.release()
        holder = lock.holder()
        owner, pid = holder.get("supervisor_pid", 0), holder.get("pid", 0)
        if owner != me and process_alive(owner):
            raise LandingInUse(
                f"{db_path} is written by worker pid {pid} of the running collector pid {owner}"
            )
        elapsed = time.monotonic() - started
        if process_alive(pid):
            if signal.SIGTERM not in sent:
                sent.add(signal.SIGTERM)
                _signal(pid, signal.SIGTERM, worker_id, db_path)
            elif elapsed > drain_timeout_s and signal.SIGKILL not in sent:
                sent.add(signal.SIGKILL)
                _signal(pid, signal.SIGKILL, worker_id, db_path)
        if elapsed > drain_timeout_s + KILL_GRACE_S:
            raise LandingInUse(f"{db_path} is still locked (holder {holder or 'unknown'})")
        await asyncio.sleep(POLL_S)
