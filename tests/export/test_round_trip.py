"""Every source row in the window lands in the lake exactly once, with its values intact."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from export.lake_checks import (
    data_files,
    lake_keys,
    lake_ticks,
    run_export,
    run_metadata,
    source_keys,
)
from export.landing_factory import Landing, create_landing_db, insert_ticks, tick_rows


def _source_ticks(landings: list[Landing]) -> list[tuple[object, ...]]:
    rows = []
    for landing in landings:
        with closing(sqlite3.connect(landing.path)) as connection:
            rows += [
                (landing.path.name, *row)
                for row in connection.execute(
                    "select id, exchange_id, symbol, ingestion_ts_us, price, bid, ask, "
                    "quote_volume, exchange_ts_ms, exchange_ts_ms * 1000, exchange_ts_source, "
                    "source, worker_id, connection_id, substr(ingestion_ts_utc, 1, 10) "
                    "from market_ticks"
                )
            ]
    return sorted(rows, key=lambda row: (str(row[0]), int(str(row[1]))))


def test_every_source_row_lands_exactly_once_with_its_values(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir) == 0

    paths = [landing.path for landing in three_landings]
    assert lake_keys(lake_dir, "market_ticks") == source_keys(paths, "market_ticks")
    assert lake_keys(lake_dir, "connection_events") == source_keys(paths, "connection_events")
    assert lake_ticks(lake_dir) == _source_ticks(three_landings)

    (metadata,) = run_metadata(lake_dir)
    assert metadata["row_counts"]["market_ticks"] == sum(x.ticks for x in three_landings)
    assert metadata["row_counts"]["connection_events"] == sum(x.events for x in three_landings)
    assert sorted(metadata["output_files"]) == [str(path) for path in data_files(lake_dir)]
    assert metadata["uniques"]["exported"]["exchanges"] == ["binance", "coinbase", "kraken"]
    assert "BTC" in metadata["uniques"]["exported"]["assets"]


def test_files_are_zstd_microsecond_utc_and_sorted_by_symbol_then_time(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--skip-connection-events") == 0

    files = data_files(lake_dir)
    assert files
    assert not list(lake_dir.glob("connection_events/**/*.parquet"))
    for file in files:
        parquet = pq.ParquetFile(file)
        schema = parquet.schema_arrow
        assert schema.field("ingestion_ts_utc").type == pa.timestamp("us", tz="UTC")
        assert schema.field("exchange_ts_utc").type == pa.timestamp("us", tz="UTC")
        assert "exchange_id" not in schema.names  # a partition key only
        assert "raw_json" not in schema.names
        assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"
        table = parquet.read(columns=["symbol", "ingestion_ts_utc"])
        order = table.sort_by([("symbol", "ascending"), ("ingestion_ts_utc", "ascending")])
        assert table.equals(order)


def test_exact_window_and_filters_select_only_matching_rows(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    since, until = "2026-11-18T11:06:42.000+00:00", "2026-11-18T11:06:45.500+00:00"
    code = run_export(
        landing_dir,
        lake_dir,
        "--since",
        "2026-11-18T11:06:42Z",
        "--until",
        "2026-11-18T11:06:45.5Z",
        "--exchanges",
        "Binance,kraken",
        "--assets",
        "btc,eth",
    )
    assert code == 0
    where = (
        f"ingestion_ts_utc >= '{since}' and ingestion_ts_utc < '{until}' "
        "and exchange_id in ('binance', 'kraken') "
        "and (symbol like 'BTC/%' or symbol like 'ETH/%')"
    )
    expected = source_keys([x.path for x in three_landings], "market_ticks", where)
    assert 0 < len(expected) < sum(x.ticks for x in three_landings)
    assert lake_keys(lake_dir, "market_ticks") == expected
    (metadata,) = run_metadata(lake_dir)
    assert metadata["filters"] == {
        "exchanges": ["binance", "kraken"],
        "assets": ["BTC", "ETH"],
        "symbols": [],
    }
    assert metadata["uniques"]["exported"]["assets"] == ["BTC", "ETH"]
    assert metadata["uniques"]["source"]["exchanges"] == ["binance", "coinbase", "kraken"]
    assert metadata["query_bounds"]["market_ticks"]["lower_utc"] == since


def test_raw_json_is_in_the_lake_only_when_asked(
    three_landings: list[Landing], landing_dir: Path, lake_dir: Path
) -> None:
    assert run_export(landing_dir, lake_dir, "--include-raw-json") == 0

    table = pq.read_table(next(lake_dir.glob("market_ticks/*/*/*.parquet")))
    assert table.column("raw_json").null_count == 0
    assert table.column("raw_json")[0].as_py().startswith('{"symbol":')


def test_a_window_over_a_long_database_skips_rows_before_it_and_misses_none(
    landing_dir: Path, lake_dir: Path
) -> None:
    path = landing_dir / "worker_0.sqlite"
    create_landing_db(path)
    gap_us = 10_000_000  # ~10 s between ticks: 2 x 1,500 ticks span about 8 hours
    insert_ticks(path, tick_rows(1_500, mean_gap_us=gap_us))
    with closing(sqlite3.connect(path)) as connection, connection:
        (last_us,) = connection.execute("select max(ingestion_ts_us) from market_ticks").fetchone()
        # backfilled bars from long ago, committed mid-stream: never search probes
        connection.executemany(
            "insert into market_ticks (ingestion_ts_utc, exchange_id, symbol, source) "
            "values ('2026-11-01T00:00:00.000+00:00', 'binance', 'BTC/USDT', 'backfill')",
            [()] * 300,
        )
    insert_ticks(path, tick_rows(1_500, start_us=last_us, mean_gap_us=gap_us, seed=1))
    since = "2026-11-18T14:06:40.000+00:00"  # 3 h after the first tick

    assert run_export(landing_dir, lake_dir, "--since", since) == 0

    expected = source_keys([path], "market_ticks", f"ingestion_ts_utc >= '{since}'")
    assert 1_000 < len(expected) < 3_000
    assert lake_keys(lake_dir, "market_ticks") == expected
    (metadata,) = run_metadata(lake_dir)
    floor = metadata["query_bounds"]["market_ticks"]["id_ranges"][str(path)]["after_id"]
    assert 500 < floor < min(row_id for _, row_id in expected)
