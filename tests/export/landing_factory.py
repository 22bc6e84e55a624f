"""Fills landing databases with realistic ticks quickly, using the real landing schema.

Prices follow a random walk per (exchange, symbol) around one shared fair price per coin; bid
and ask straddle it; 24h statistics drift slowly; exchange times lag reception by a few hundred
milliseconds (kraken's are missing, as in ccxt). Used by the export tests and ``bench/export.py``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.landing.schema import (
    EXTENDED_MARKET_TICK_COLUMNS,
    LANDING_DDL,
    ORIGINAL_LANDING_DDL,
    ORIGINAL_MARKET_TICK_COLUMNS,
)

EXCHANGES: Final = ("binance", "kraken", "coinbase")
SYMBOLS: Final = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT", "DOGE/USDT")
FAIR_PRICES: Final = (97_000.0, 3_400.0, 180.0, 2.3, 0.9, 0.35)
START_US: Final = 1_795_000_000_000_000  # 2026-11-18T...Z

# every landing column but the id, in schema order
_ORIGINAL_TICK_COLUMNS: Final = ORIGINAL_MARKET_TICK_COLUMNS[1:]
_EXTENDED_TICK_COLUMNS: Final = (*_ORIGINAL_TICK_COLUMNS, *EXTENDED_MARKET_TICK_COLUMNS)


@dataclass(frozen=True)
class Landing:
    path: Path
    ticks: int
    events: int


def iso_ms(epoch_us: int) -> str:
    return datetime.fromtimestamp(epoch_us / 1_000_000, tz=UTC).isoformat(timespec="milliseconds")


def create_landing_db(path: Path, *, original: bool = False) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("pragma journal_mode=wal")
        connection.executescript(ORIGINAL_LANDING_DDL if original else LANDING_DDL)
    connection.close()


def iso_ms_texts(epoch_us: np.ndarray) -> list[str]:
    """Landing text timestamps (``2026-11-18T11:06:40.001+00:00``) for many instants at once."""
    whole_seconds = pa.array(epoch_us // 1_000_000, pa.int64()).cast(pa.timestamp("s", tz="UTC"))
    seconds = pc.strftime(whole_seconds, format="%Y-%m-%dT%H:%M:%S")
    fraction = pa.array([f".{ms:03d}+00:00" for ms in (epoch_us // 1000 % 1000).tolist()])
    joined: list[str] = pc.binary_join_element_wise(seconds, fraction, "").to_pylist()
    return joined


def tick_rows(
    count: int,
    *,
    start_us: int = START_US,
    mean_gap_us: int = 2_000,
    seed: int = 0,
    worker_id: int = 0,
    original: bool = False,
    raw_json: bool = False,
) -> Iterator[tuple[object, ...]]:
    """``count`` ticks in reception-time order, as insert parameters for the landing columns."""
    rng = np.random.default_rng(seed)
    pair_count = len(EXCHANGES) * len(SYMBOLS)
    pair = rng.integers(0, pair_count, count)
    ingestion_us = start_us + np.cumsum(rng.integers(1, 2 * mean_gap_us, count))
    # one random walk per (exchange, symbol): cumulative log-returns within each pair
    steps = rng.normal(0.0, 0.0002, count)
    order = np.argsort(pair, kind="stable")
    sorted_steps = steps[order]
    boundaries = np.searchsorted(pair[order], np.arange(pair_count))
    cumulative = np.cumsum(sorted_steps)
    offsets = np.repeat(
        np.concatenate(([0.0], cumulative))[boundaries], np.diff(np.append(boundaries, count))
    )
    walk = np.empty(count)
    walk[order] = np.exp(cumulative - offsets)
    fair = np.array(FAIR_PRICES * len(EXCHANGES))[pair]
    price = np.round(fair * walk, 2)
    spread = np.round(np.maximum(price * 0.00005, 0.01), 2)
    volume = np.round(10_000 + np.cumsum(rng.random(count)) / 100, 4)
    exchange_index = pair // len(SYMBOLS)
    has_exchange_time = exchange_index != EXCHANGES.index("kraken")
    exchange_ms = ingestion_us // 1000 - rng.integers(5, 400, count)
    exchanges = np.array(EXCHANGES, dtype=object)[exchange_index].tolist()
    symbols = np.array(SYMBOLS, dtype=object)[pair % len(SYMBOLS)].tolist()
    prices = price.tolist()
    exchange_ms_list = [
        ms if present else None
        for ms, present in zip(exchange_ms.tolist(), has_exchange_time.tolist(), strict=True)
    ]
    exchange_texts: list[object] = [
        text if present else None
        for text, present in zip(
            iso_ms_texts(exchange_ms * 1000), has_exchange_time.tolist(), strict=True
        )
    ]
    columns: list[list[object]] = [
        list(iso_ms_texts(ingestion_us)),
        exchanges,
        symbols,
        ["spot"] * count,
        prices,
        np.round(price - spread, 2).tolist(),
        np.round(price + spread, 2).tolist(),
        prices,
        fair.tolist(),
        np.round(price * 1.02, 2).tolist(),
        np.round(price * 0.98, 2).tolist(),
        volume.tolist(),
        np.round(volume * price, 2).tolist(),
        exchange_ms_list,
        exchange_texts,
        [f'{{"symbol":"{s}","last":{p}}}' for s, p in zip(symbols, prices, strict=True)]
        if raw_json
        else [None] * count,
    ]
    if not original:
        columns += [
            ingestion_us.tolist(),
            ["exchange" if ms is not None else "missing" for ms in exchange_ms_list],
            ["ws"] * count,
            [worker_id] * count,
            [f"{exchange}-{worker_id}-1" for exchange in exchanges],
        ]
    return zip(*columns, strict=True)


def insert_ticks(path: Path, rows: Iterator[tuple[object, ...]], *, original: bool = False) -> int:
    columns = _ORIGINAL_TICK_COLUMNS if original else _EXTENDED_TICK_COLUMNS
    placeholders = ", ".join("?" * len(columns))
    with sqlite3.connect(path) as connection:
        cursor = connection.executemany(
            f"insert into market_ticks ({', '.join(columns)}) values ({placeholders})", rows
        )
        inserted = cursor.rowcount
    connection.close()
    return inserted


def insert_events(
    path: Path, count: int, *, start_us: int = START_US, original: bool = False, worker_id: int = 0
) -> int:
    """Connection events: a cycle of connect/subscribe/disconnect per exchange, plus worker ones."""
    kinds = ("connecting", "connected", "subscribed", "disconnect", "reconnect_wait", "reconnected")
    rows = []
    for index in range(count):
        at_us = start_us + index * 1_500_000
        exchange: str | None = EXCHANGES[index % len(EXCHANGES)]
        kind = kinds[index % len(kinds)]
        if index % 10 == 9:
            exchange, kind = None, "worker_start"
        details = f'{{"reason":"test","n":{index}}}'
        row: tuple[object, ...] = (iso_ms(at_us), exchange, None, kind, details)
        if not original:
            row += (at_us, worker_id, f"{exchange}-{worker_id}-1")
        rows.append(row)
    columns = "event_ts_utc, exchange_id, symbol, event_type, details_json"
    if not original:
        columns += ", event_ts_us, worker_id, connection_id"
    with sqlite3.connect(path) as connection:
        connection.executemany(
            f"insert into connection_events ({columns}) values ({', '.join('?' * len(rows[0]))})"
            if rows
            else "select 1",
            rows,
        )
    connection.close()
    return count


def make_landing(
    path: Path,
    *,
    ticks: int,
    events: int = 20,
    seed: int = 0,
    original: bool = False,
    start_us: int = START_US,
    raw_json: bool = True,
) -> Landing:
    create_landing_db(path, original=original)
    rows = tick_rows(
        ticks, seed=seed, worker_id=seed, original=original, start_us=start_us, raw_json=raw_json
    )
    insert_ticks(path, rows, original=original)
    if events:
        insert_events(path, events, start_us=start_us, original=original, worker_id=seed)
    return Landing(path, ticks, events)
