"""The landing writer: one SQLite database per worker, WAL mode, batched commits.

The schema is :data:`extract.landing.schema.LANDING_DDL`, as is. A database of the original system
(without our extended columns) is upgraded in place by adding the missing columns, so a worker can
keep appending to it. A commit either lands the whole batch or nothing; callers keep a failed
batch and retry it, so a full disk never loses what was already committed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

from extract.collector.records import ConnectionEvent, Tick
from extract.landing.schema import LANDING_DDL, TABLES
from extract.timeutil import epoch_us_now, iso_ms_from_epoch_us

BUSY_TIMEOUT_MS = 10_000

# 16 KiB pages rather than SQLite's 4 KiB: a landed tick row is about 700 bytes (most of it the raw
# frame), and with four times fewer pages per commit SQLite spends about a quarter less CPU landing
# the same rows (docs/performance.md, "Peer").
PAGE_SIZE_BYTES = 16_384

# Ticks are inserted ROWS_PER_STATEMENT at a time (one multi-row INSERT binding the Ticks' fields
# in order), which costs SQLite a third less per row than one INSERT per row.
ROWS_PER_STATEMENT = 50


def _insert_ticks_sql(rows: int, worker_id: int | None) -> str:
    worker = "NULL" if worker_id is None else str(int(worker_id))
    row = "(" + ", ".join(["?"] * len(Tick._fields)) + f", {worker})"
    columns = ", ".join([*Tick._fields, "worker_id"])
    return f"INSERT INTO market_ticks ({columns}) VALUES " + ", ".join([row] * rows)


def _as_float(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _coerced(tick: Tick) -> Tick:
    """The tick with numeric fields as float (None when not a number) and text as str."""
    return tick._replace(
        price=_as_float(tick.price),
        bid=_as_float(tick.bid),
        ask=_as_float(tick.ask),
        last=_as_float(tick.last),
        open=_as_float(tick.open),
        high=_as_float(tick.high),
        low=_as_float(tick.low),
        base_volume=_as_float(tick.base_volume),
        quote_volume=_as_float(tick.quote_volume),
        raw_json=None if tick.raw_json is None else str(tick.raw_json),
        symbol=str(tick.symbol),
    )


class _UnbindableValue(Exception):
    """A tick holds a value of a type SQLite cannot bind (the batch was rolled back)."""


_INSERT_EVENT = (
    "INSERT INTO connection_events (event_ts_utc, exchange_id, symbol, event_type, details_json, "
    "event_ts_us, worker_id, connection_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


class LandingWriteError(RuntimeError):
    """A batch could not be committed (disk full, capped database, I/O error); none of it landed."""


def _upgrade_original_schema(connection: sqlite3.Connection) -> None:
    for table, columns in TABLES.items():
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        for column in columns:
            if column.name not in present:
                connection.execute(
                    f"ALTER TABLE {table} ADD COLUMN {column.name} {column.sql_type}"
                )


def open_landing(path: Path, max_bytes: int = 0) -> sqlite3.Connection:
    """Open (creating if needed) a landing database in WAL mode with the landing schema."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    # Only a new database takes the page size (SQLite ignores it once the file has pages).
    connection.execute(f"PRAGMA page_size = {PAGE_SIZE_BYTES}")
    connection.execute("PRAGMA journal_mode = WAL")
    # WAL + NORMAL: a commit survives a process kill; only an OS crash can lose the last commits.
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.executescript(LANDING_DDL)
    _upgrade_original_schema(connection)
    if max_bytes:
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page_size)}")
    return connection


def event_row(event: ConnectionEvent, worker_id: int | None) -> tuple[Any, ...]:
    return (
        iso_ms_from_epoch_us(event.event_ts_us),
        event.exchange_id,
        event.symbol,
        event.event_type,
        event.details_json,
        event.event_ts_us,
        worker_id,
        event.connection_id,
    )


def make_event(
    event_type: str,
    *,
    exchange_id: str | None = None,
    symbol: str | None = None,
    connection_id: str | None = None,
    **details: Any,
) -> ConnectionEvent:
    return ConnectionEvent(
        event_ts_us=epoch_us_now(),
        exchange_id=exchange_id,
        symbol=symbol,
        event_type=event_type,
        details_json=json.dumps(details, default=str, sort_keys=True),
        connection_id=connection_id,
    )


class LandingWriter:
    """Commits batches of ticks and events for one worker, each batch in one transaction."""

    def __init__(self, path: Path, worker_id: int | None, max_bytes: int = 0) -> None:
        self.path = path
        self.worker_id = worker_id
        self._connection = open_landing(path, max_bytes)
        # commits run in a worker thread (see pipeline); the lock keeps one user at a time
        self._lock = threading.Lock()
        self._insert_one = _insert_ticks_sql(1, worker_id)
        self._insert_many = _insert_ticks_sql(ROWS_PER_STATEMENT, worker_id)

    def write(self, ticks: Sequence[Tick], events: Sequence[ConnectionEvent]) -> None:
        with self._lock:
            try:
                self._write(ticks, events)
            except _UnbindableValue:
                # an exchange sent a value SQLite cannot bind as is: coerce and retry once
                try:
                    self._write([_coerced(tick) for tick in ticks], events)
                except _UnbindableValue as error:
                    raise LandingWriteError(f"cannot bind a value: {error}") from error

    def _write(self, ticks: Sequence[Tick], events: Sequence[ConnectionEvent]) -> None:
        connection = self._connection
        try:
            connection.execute("BEGIN")
            whole = len(ticks) - len(ticks) % ROWS_PER_STATEMENT
            if whole:
                connection.executemany(
                    self._insert_many,
                    (
                        tuple(chain.from_iterable(ticks[start : start + ROWS_PER_STATEMENT]))
                        for start in range(0, whole, ROWS_PER_STATEMENT)
                    ),
                )
            if whole < len(ticks):
                connection.executemany(self._insert_one, ticks[whole:])
            if events:
                connection.executemany(
                    _INSERT_EVENT, [event_row(e, self.worker_id) for e in events]
                )
            connection.execute("COMMIT")
        except (sqlite3.ProgrammingError, sqlite3.InterfaceError) as error:
            self._rollback()
            raise _UnbindableValue(str(error)) from error
        except sqlite3.Error as error:
            self._rollback()
            raise LandingWriteError(f"{type(error).__name__}: {error}") from error

    def _rollback(self) -> None:
        if self._connection.in_transaction:
            try:
                self._connection.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # the failed transaction is already gone; the original error is reported

    def last_live_tick_us(self, exchange_id: str) -> int | None:
        """Reception time of the newest live (websocket or REST) tick of an exchange, if any."""
        with self._lock:
            row = self._connection.execute(
                "SELECT ingestion_ts_us FROM market_ticks WHERE exchange_id = ? AND source != "
                "'backfill' AND ingestion_ts_us IS NOT NULL ORDER BY id DESC LIMIT 1",
                (exchange_id,),
            ).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def append_events(path: Path, events: Iterable[ConnectionEvent], worker_id: int | None) -> None:
    """Write events into a landing database from another process (the supervisor)."""
    connection = open_landing(path)
    try:
        with connection:
            connection.execute("BEGIN")
            connection.executemany(_INSERT_EVENT, [event_row(e, worker_id) for e in events])
    finally:
        connection.close()
