"""The landing schema, shared by the collector (writer) and the exporter (reader), declared once.

Each table is one tuple of columns (name, SQLite type, whether the original system has it); the
DDL, the column-name tuples and the upgrade of an original database are all derived from it.
The columns are a superset of the original system's ``worker_*_crypto_ws_ticks.db`` files, so
those import as they are. Columns after ``raw_json`` / ``details_json`` are ours; a reader must
treat them as optional (an original database does not have them).
"""

from __future__ import annotations

from typing import Final, NamedTuple


class Column(NamedTuple):
    name: str
    sql_type: str
    original: bool


# ingestion_ts_us: reception time of the websocket frame (or REST response) in epoch microseconds;
# ingestion_ts_utc is the same instant as ISO text with milliseconds.
# exchange_ts_source: 'exchange' (the exchange's own event time), 'local_fallback', 'missing'.
# source: 'ws' (live websocket tick), 'rest' (live REST poll), 'backfill' (1m OHLCV gap repair).
MARKET_TICKS: Final = (
    Column("id", "INTEGER PRIMARY KEY AUTOINCREMENT", True),
    Column("ingestion_ts_utc", "TEXT NOT NULL", True),
    Column("exchange_id", "TEXT NOT NULL", True),
    Column("symbol", "TEXT NOT NULL", True),
    Column("market_type", "TEXT", True),
    Column("price", "REAL", True),
    Column("bid", "REAL", True),
    Column("ask", "REAL", True),
    Column("last", "REAL", True),
    Column("open", "REAL", True),
    Column("high", "REAL", True),
    Column("low", "REAL", True),
    Column("base_volume", "REAL", True),
    Column("quote_volume", "REAL", True),
    Column("exchange_ts_ms", "INTEGER", True),
    Column("exchange_ts_utc", "TEXT", True),
    Column("raw_json", "TEXT", True),
    Column("ingestion_ts_us", "INTEGER", False),
    Column("exchange_ts_source", "TEXT", False),
    Column("source", "TEXT NOT NULL DEFAULT 'ws'", False),
    Column("worker_id", "INTEGER", False),
    Column("connection_id", "TEXT", False),
)

CONNECTION_EVENTS: Final = (
    Column("id", "INTEGER PRIMARY KEY AUTOINCREMENT", True),
    Column("event_ts_utc", "TEXT NOT NULL", True),
    Column("exchange_id", "TEXT", True),
    Column("symbol", "TEXT", True),
    Column("event_type", "TEXT NOT NULL", True),
    Column("details_json", "TEXT", True),
    Column("event_ts_us", "INTEGER", False),
    Column("worker_id", "INTEGER", False),
    Column("connection_id", "TEXT", False),
)

TABLES: Final = {"market_ticks": MARKET_TICKS, "connection_events": CONNECTION_EVENTS}

ORIGINAL_MARKET_TICK_COLUMNS: Final = tuple(c.name for c in MARKET_TICKS if c.original)
EXTENDED_MARKET_TICK_COLUMNS: Final = tuple(c.name for c in MARKET_TICKS if not c.original)
ORIGINAL_CONNECTION_EVENT_COLUMNS: Final = tuple(c.name for c in CONNECTION_EVENTS if c.original)
EXTENDED_CONNECTION_EVENT_COLUMNS: Final = tuple(
    c.name for c in CONNECTION_EVENTS if not c.original
)

TICK_SOURCES: Final = ("ws", "rest", "backfill")
EXCHANGE_TS_SOURCES: Final = ("exchange", "local_fallback", "missing")

CONNECTION_EVENT_TYPES: Final = (
    "connecting",
    "connected",
    "subscribed",
    "disconnect",
    "reconnect_wait",
    "reconnected",
    "stale_detected",
    "subscription_rejected",
    "rate_limited",
    "malformed_message",
    "backfill_started",
    "backfill_retry",
    "backfill_done",
    "backfill_failed",
    "worker_start",
    "worker_stop",
    "worker_restart",
    "worker_failed_permanently",
    "exchange_excluded",
    "collector_stop",
    "worker_heartbeat",
)


def _ddl(original_only: bool) -> str:
    statements = []
    for table, columns in TABLES.items():
        lines = ",\n".join(
            f"    {column.name} {column.sql_type}"
            for column in columns
            if column.original or not original_only
        )
        statements.append(f"CREATE TABLE IF NOT EXISTS {table} (\n{lines}\n);")
    return "\n".join(statements) + "\n"


LANDING_DDL: Final = _ddl(original_only=False)

# The original system's schema, as its databases hold it; used by tests and import checks.
ORIGINAL_LANDING_DDL: Final = _ddl(original_only=True)
