"""The records that cross module borders inside the collector: one tick, one connection event.

``Tick`` is a ``NamedTuple`` rather than a frozen dataclass on purpose: it is built once per
ticker update on the hot path and bound by the writer's INSERT as is, its fields in the
order of that INSERT's columns, so landing a tick costs no per-row conversion. It is just as
immutable and typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class Tick(NamedTuple):
    """One ticker update as landed; ``ingestion_ts_us`` is the arrival time of its frame."""

    ingestion_ts_utc: str
    exchange_id: str
    symbol: str
    market_type: str | None
    price: float | None
    bid: float | None
    ask: float | None
    last: float | None
    open: float | None
    high: float | None
    low: float | None
    base_volume: float | None
    quote_volume: float | None
    exchange_ts_ms: int | None
    exchange_ts_utc: str | None
    raw_json: str | None
    ingestion_ts_us: int
    exchange_ts_source: str
    source: str
    connection_id: str | None


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """One lifecycle event; ``details_json`` is a JSON object (reason, close code, delay_s, ...)."""

    event_ts_us: int
    exchange_id: str | None
    symbol: str | None
    event_type: str
    details_json: str
    connection_id: str | None
