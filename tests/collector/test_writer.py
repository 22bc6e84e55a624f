"""The landing writer: WAL, the shared schema as is, all-or-nothing batches, original files."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from extract.collector.clock import IsoMsText
from extract.collector.records import Tick
from extract.collector.writer import (
    PAGE_SIZE_BYTES,
    ROWS_PER_STATEMENT,
    LandingWriteError,
    LandingWriter,
    append_events,
    make_event,
)
from extract.landing.schema import (
    EXTENDED_MARKET_TICK_COLUMNS,
    ORIGINAL_LANDING_DDL,
    ORIGINAL_MARKET_TICK_COLUMNS,
)
from extract.timeutil import iso_ms_from_epoch_ms, iso_ms_from_epoch_us


def tick(n: int, *, raw: str = "{}", exchange_ts_ms: int | None = 1_795_238_675_680) -> Tick:
    return Tick(
        ingestion_ts_utc=iso_ms_from_epoch_us(1_795_238_675_757_123 + n),
        exchange_ts_utc=iso_ms_from_epoch_ms(exchange_ts_ms) if exchange_ts_ms else None,
        ingestion_ts_us=1_795_238_675_757_123 + n,
        exchange_id="binance",
        symbol="BTC/USDT",
        market_type="spot",
        price=100.0 + n,
        bid=99.0,
        ask=101.0,
        last=100.0 + n,
        open=None,
        high=None,
        low=None,
        base_volume=1.5,
        quote_volume=None,
        exchange_ts_ms=exchange_ts_ms,
        exchange_ts_source="exchange" if exchange_ts_ms else "missing",
        raw_json=raw,
        source="ws",
        connection_id="c1",
    )


def test_ticks_land_with_iso_ms_and_microsecond_times_in_wal_mode(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path / "w.sqlite", worker_id=4)
    writer.write(
        [tick(0), tick(1, exchange_ts_ms=None)], [make_event("connected", exchange_id="binance")]
    )
    writer.close()
    connection = sqlite3.connect(tmp_path / "w.sqlite")
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE_BYTES
    rows = connection.execute(
        "SELECT ingestion_ts_utc, ingestion_ts_us, exchange_ts_utc, exchange_ts_source, worker_id "
        "FROM market_ticks ORDER BY id"
    ).fetchall()
    assert rows[0] == (
        "2026-11-21T05:24:35.757+00:00",
        1_795_238_675_757_123,
        "2026-11-21T05:24:35.680+00:00",
        "exchange",
        4,
    )
    assert rows[1][2:4] == (None, "missing")
    event = connection.execute("SELECT event_type, worker_id, event_ts_us FROM connection_events")
    assert event.fetchone()[:2] == ("connected", 4)


def test_a_failed_batch_lands_nothing_and_keeps_what_was_committed(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path / "w.sqlite", worker_id=0, max_bytes=64 * 1024)
    writer.write([tick(n) for n in range(10)], [])
    with pytest.raises(LandingWriteError, match="full"):
        writer.write([tick(n, raw="x" * 4000) for n in range(100)], [])
    count = sqlite3.connect(tmp_path / "w.sqlite").execute("SELECT count(*) FROM market_ticks")
    assert count.fetchone()[0] == 10
    writer.write([tick(99)], [])  # the writer stays usable once there is room
    writer.close()


def test_an_original_database_is_upgraded_in_place_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "worker_1_crypto_ws_ticks.db"
    original = sqlite3.connect(path)
    original.executescript(ORIGINAL_LANDING_DDL)
    original.execute(
        "INSERT INTO market_ticks (ingestion_ts_utc, exchange_id, symbol, price) "
        "VALUES ('2026-01-01T00:00:00.000+00:00', 'kraken', 'BTC/USD', 1.0)"
    )
    original.commit()
    original.close()
    writer = LandingWriter(path, worker_id=1)
    writer.write([tick(0)], [])
    writer.close()
    connection = sqlite3.connect(path)
    columns = [row[1] for row in connection.execute("PRAGMA table_info(market_ticks)")]
    assert columns == [*ORIGINAL_MARKET_TICK_COLUMNS, *EXTENDED_MARKET_TICK_COLUMNS]
    rows = connection.execute("SELECT exchange_id, source FROM market_ticks ORDER BY id").fetchall()
    assert rows == [("kraken", "ws"), ("binance", "ws")]
    # an existing file keeps the page size it was created with
    assert connection.execute("PRAGMA page_size").fetchone()[0] == 4096


def test_the_supervisor_appends_events_to_a_worker_database(tmp_path: Path) -> None:
    path = tmp_path / "w.sqlite"
    append_events(path, [make_event("worker_start", pid=7, attempt=1)], worker_id=2)
    row = (
        sqlite3.connect(path)
        .execute("SELECT event_type, exchange_id, worker_id, details_json FROM connection_events")
        .fetchone()
    )
    assert row == ("worker_start", None, 2, '{"attempt": 1, "pid": 7}')


def test_last_live_tick_ignores_backfill_rows(tmp_path: Path) -> None:
    writer = LandingWriter(tmp_path / "w.sqlite", worker_id=0)
    assert writer.last_live_tick_us("binance") is None
    backfill = tick(5)._replace(source="backfill")
    writer.write([tick(1), backfill], [])
    assert writer.last_live_tick_us("binance") == tick(1).ingestion_ts_us
    writer.close()


def test_the_hot_path_time_text_matches_the_shared_helper() -> None:
    clock = IsoMsText()
    times_us = [0, 1_795_238_675_999_999, 1_795_238_676_000_000, 1_700_000_000_000_500]
    times_us += [random.Random(7).randrange(4_102_444_800_000_000) for _ in range(500)]
    for epoch_us in times_us:
        assert clock.from_us(epoch_us) == iso_ms_from_epoch_us(epoch_us)
        assert clock.from_ms(epoch_us // 1000) == iso_ms_from_epoch_ms(epoch_us // 1000)


def test_batches_of_any_size_land_every_tick_in_order(tmp_path: Path) -> None:
    sizes = (1, ROWS_PER_STATEMENT - 1, ROWS_PER_STATEMENT, 2 * ROWS_PER_STATEMENT + 3)
    writer = LandingWriter(tmp_path / "w.sqlite", worker_id=0)
    for size in sizes:
        writer.write([tick(n) for n in range(size)], [])
    writer.close()
    prices = [
        row[0]
        for row in sqlite3.connect(tmp_path / "w.sqlite").execute(
            "SELECT price FROM market_ticks ORDER BY id"
        )
    ]
    expected = [100.0 + n for size in sizes for n in range(size)]
    assert prices == expected


def test_a_value_sqlite_cannot_bind_is_coerced_not_a_stuck_batch(tmp_path: Path) -> None:
    """ccxt normally hands floats; a stray Decimal or object must not block the batch forever."""
    from decimal import Decimal

    writer = LandingWriter(tmp_path / "w.sqlite", worker_id=0)
    writer.write([tick(0)._replace(bid=Decimal("1.5"), ask=object())], [])  # type: ignore[arg-type]
    writer.close()
    row = sqlite3.connect(tmp_path / "w.sqlite").execute("SELECT bid, ask FROM market_ticks")
    assert row.fetchone() == (1.5, None)
