"""End to end from an original-schema landing database: the real exporter writes the lake, dbt
builds it, and the KPIs come out as the rows were written (no hand-made Parquet in between)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.export.cli import main as export_main
from extract.landing.schema import ORIGINAL_LANDING_DDL
from tests.fixtures.warehouse import build_warehouse

pytestmark = pytest.mark.slow

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TICKS_PER_EXCHANGE = 600
TICK_SPACING_S = 3
LATENCY_MS = 120


def write_original_landing_db(path: Path) -> None:
    """binance BTC/USDT and kraken XBT/USDT every 3 s for 30 min, 120 ms behind the exchange."""
    rows = []
    for index in range(TICKS_PER_EXCHANGE):
        received = START + timedelta(seconds=TICK_SPACING_S * index)
        exchange_time = received - timedelta(milliseconds=LATENCY_MS)
        for exchange_id, symbol, price in (
            ("binance", "BTC/USDT", 100.0 + index / 100),
            ("kraken", "XBT/USDT", 100.5 + index / 100),
        ):
            rows.append(
                (
                    received.isoformat(timespec="milliseconds"),
                    exchange_id,
                    symbol,
                    "spot",
                    price,
                    int(exchange_time.timestamp() * 1000),
                    exchange_time.isoformat(timespec="milliseconds"),
                )
            )
    with sqlite3.connect(path) as connection:
        connection.executescript(ORIGINAL_LANDING_DDL)
        connection.executemany(
            "insert into market_ticks (ingestion_ts_utc, exchange_id, symbol, market_type, price,"
            " exchange_ts_ms, exchange_ts_utc) values (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute(
            "insert into connection_events (event_ts_utc, exchange_id, event_type, details_json)"
            " values (?, 'binance', 'disconnect', '{}')",
            ((START + timedelta(minutes=5)).isoformat(timespec="milliseconds"),),
        )
    connection.close()


def test_original_landing_database_to_kpis(tmp_path: Path) -> None:
    write_original_landing_db(tmp_path / "worker_1_crypto_ws_ticks.db")
    lake_dir = tmp_path / "lake"
    exported = export_main(
        [
            "--input-glob",
            str(tmp_path / "worker_*_crypto_ws_ticks.db"),
            "--output-dir",
            str(lake_dir),
            "--since",
            "2026-03-01T00:00Z",
            "--until",
            "2026-03-02T00:00Z",
        ]
    )
    assert exported == 0
    duckdb_path = tmp_path / "warehouse.duckdb"
    build_warehouse(lake_dir, duckdb_path)

    day = date(2026, 3, 1)
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        latency = connection.execute(
            "select exchange_id, symbol, latency_sample_count, min_latency_ms, max_latency_ms"
            " from core.fct_latency_daily order by all"
        ).fetchall()
        frequency = connection.execute(
            "select exchange_id, interval_count, update_frequency_hz"
            " from core.fct_update_frequency_daily order by all"
        ).fetchall()
        disconnects = connection.execute(
            "select kpi_date_utc, exchange_id, disconnect_count from core.fct_disconnects_daily"
        ).fetchall()
        deviation = connection.execute(
            "select aligned_points_compared, max_price_diff_abs, max_diff_exchange_pair"
            " from core.fct_price_deviation_daily"
        ).fetchall()
    assert latency == [
        ("binance", "BTC/USDT", 600, 120.0, 120.0),
        ("kraken", "BTC/USDT", 600, 120.0, 120.0),
    ]
    assert [(exchange, count) for exchange, count, _ in frequency] == [
        ("binance", 599),
        ("kraken", 599),
    ]
    assert all(hz == pytest.approx(1 / TICK_SPACING_S) for _, _, hz in frequency)
    assert disconnects == [(day, "binance", 1)]
    # 30 one-minute buckets, kraken 0.5 above binance in each (the last tick of the bucket).
    assert len(deviation) == 1
    assert deviation[0][0] == 30
    assert deviation[0][1] == pytest.approx(0.5)
    assert deviation[0][2] == "kraken|binance"
