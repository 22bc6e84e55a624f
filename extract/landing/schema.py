"""The landing schema, shared by the collector (writer) and the exporter (reader).

The columns are a superset of the original system's ``worker_*_crypto_ws_ticks.db`` files, so
those import as they are. Columns after ``raw_json`` / ``details_json`` are ours; a reader must
treat them as optional (an original database does not have them).
"""

from __future__ import annotations

from typing import Final

ORIGINAL_MARKET_TICK_COLUMNS: Final = (
    "id",
    "ingestion_ts_utc",
    "exchange_id",
    "symbol",
    "market_type",
    "price",
    "bid",
    "ask",
    "last",
    "open",
    "high",
    "low",
    "base_volume",
    "quote_volume",
    "exchange_ts_ms",
    "exchange_ts_utc",
    "raw_json",
)

# ingestion_ts_us: reception time of the websocket frame (or REST response) in epoch microseconds;
# ingestion_ts_utc is the same instant as ISO text with milliseconds.
# exchange_ts_source: 'exchange' (the exchange's own event time), 'local_fallback', 'missing'.
# source: 'ws' (live websocket tick), 'rest' (live REST poll), 'backfill' (1m OHLCV gap repair).
EXTENDED_MARKET_TICK_COLUMNS: Final = (
    "ingestion_ts_us",
    "exchange_ts_source",
    "source",
    "worker_id",
    "connection_id",
)

ORIGINAL_CONNECTION_EVENT_COLUMNS: Final = (
    "id",
    "event_ts_utc",
    "exchange_id",
    "symbol",
    "event_type",
    "details_json",
)

EXTENDED_CONNECTION_EVENT_COLUMNS: Final = (
    "event_ts_us",
    "worker_id",
    "connection_id",
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

LANDING_DDL: Final = """
CREATE TABLE IF NOT EXISTS market_ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ingestion_ts_utc TEXT NOT NULL,
    exchange_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    market_type TEXT,
    price REAL,
    bid REAL,
    ask REAL,
    last REAL,
    open REAL,
    high REAL,
    low REAL,
    base_volume REAL,
    quote_volume REAL,
    exchange_ts_ms INTEGER,
    exchange_ts_utc TEXT,
    raw_json TEXT,
    ingestion_ts_us INTEGER,
    exchange_ts_source TEXT,
    source TEXT NOT NULL DEFAULT 'ws',
    worker_id INTEGER,
    connection_id TEXT
);
CREATE TABLE IF NOT EXISTS connection_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_ts_utc TEXT NOT NULL,
    exchange_id TEXT,
    symbol TEXT,
    event_type TEXT NOT NULL,
    details_json TEXT,
    event_ts_us INTEGER,
    worker_id INTEGER,
    connection_id TEXT
);
"""

# The original system's schema, as its databases hold it; used by tests and import checks.
ORIGINAL_LANDING_DDL: Final = """
CREATE TABLE IF NOT EXISTS market_ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ingestion_ts_utc TEXT NOT NULL,
    exchange_id TEXT NOT NULL,
    symbol TEXT NOT NULL,
    market_type TEXT,
    price REAL,
    bid REAL,
    ask REAL,
    last REAL,
    open REAL,
    high REAL,
    low REAL,
    base_volume REAL,
    quote_volume REAL,
    exchange_ts_ms INTEGER,
    exchange_ts_utc TEXT,
    raw_json TEXT
);
CREATE TABLE IF NOT EXISTS connection_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_ts_utc TEXT NOT NULL,
    exchange_id TEXT,
    symbol TEXT,
    event_type TEXT NOT NULL,
    details_json TEXT
);
"""
