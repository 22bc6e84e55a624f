"""dbt build on the hand-made lake of tests/fixtures/known_lake.py; KPIs against hand-made values.

The expected numbers are worked out in the comments from the tick list, not read back from a build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.known_lake import DAY_ONE, DAY_TWO, write_known_lake
from tests.fixtures.lake import utc
from tests.fixtures.warehouse import DbtRun, build_warehouse

pytestmark = pytest.mark.slow

Row = tuple[object, ...]


@pytest.fixture(scope="module")
def known_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, DbtRun]:
    root = tmp_path_factory.mktemp("known")
    lake_dir = root / "lake"
    write_known_lake(lake_dir)
    duckdb_path = root / "warehouse.duckdb"
    run = build_warehouse(lake_dir, duckdb_path)
    return lake_dir, duckdb_path, run


@pytest.fixture
def warehouse(known_build: tuple[Path, Path, DbtRun]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(known_build[1]), read_only=True)
    yield connection
    connection.close()


def rows(connection: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    return [tuple(row) for row in connection.sql(sql).fetchall()]


def assert_rows_close(actual: list[Row], expected: list[Row]) -> None:
    assert len(actual) == len(expected), (actual, expected)
    for actual_row, expected_row in zip(actual, expected, strict=True):
        assert len(actual_row) == len(expected_row)
        for got, want in zip(actual_row, expected_row, strict=True):
            if isinstance(want, float):
                assert got == pytest.approx(want, rel=1e-12, abs=1e-9), (actual_row, expected_row)
            else:
                assert got == want, (actual_row, expected_row)


def test_build_passes_with_only_the_expected_warnings(
    known_build: tuple[Path, Path, DbtRun],
) -> None:
    warned = {node.unique_id.split(".")[2] for node in known_build[2].with_status("warn")}
    # The fixture lake is from March 2026: the recency check warns, nothing else does.
    assert warned == {"recency_stg_lake__market_ticks_ingestion_ts_utc__24"}


def test_latency_daily(warehouse: duckdb.DuckDBPyConnection) -> None:
    # binance BTC: 100, 300, 200, 50 ms (the 00:00:40 copy is deduplicated, 00:07:50 has no exchange
    # time, 00:08:05 is negative). Sorted 50,100,200,300: p50 = 150, p95 = 200+0.85*100, p99 = 297.
    # kraken BTC: 1000,400,250,100,150 -> sorted 100,150,250,400,1000: p95 = 400+0.8*600 = 880.
    # binance ETH: 80 ms once on day one, twice on day two. okx SOL: the 1970 exchange time counts
    # as unparseable, the null-time row has no reception time: eight samples of 100 ms and one of
    # 200 ms -> p95 = 100 + 0.6*100, p99 = 100 + 0.92*100.
    actual = rows(warehouse, "select * from core.fct_latency_daily order by all")
    assert_rows_close(
        actual,
        [
            (DAY_ONE, "binance", "BTC/USDT", 4, 162.5, 50.0, 300.0, 150.0, 285.0, 297.0),
            (DAY_ONE, "binance", "ETH/USDT", 1, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0),
            (DAY_ONE, "kraken", "BTC/USDT", 5, 380.0, 100.0, 1000.0, 250.0, 880.0, 976.0),
            (DAY_ONE, "okx", "SOL/USDT", 9, 1000 / 9, 100.0, 200.0, 100.0, 160.0, 192.0),
            (DAY_TWO, "binance", "ETH/USDT", 2, 80.0, 80.0, 80.0, 80.0, 80.0, 80.0),
        ],
    )


def test_update_frequency_daily(warehouse: duckdb.DuckDBPyConnection) -> None:
    # binance BTC live ticks 00:00:10, :40, 01:30, 07:20, 07:50, 08:05 -> 30, 50, 350, 30, 15 s.
    # kraken: 50, 109.5, 245.5, 85 s. ETH: 23:59:30 -> 00:00:15 (45 s) and 30 s, both on day two.
    # okx: 1,1,1,1,1,(0 dropped),1,34,60 s.
    actual = rows(warehouse, "select * from core.fct_update_frequency_daily order by all")
    assert_rows_close(
        actual,
        [
            (DAY_ONE, "binance", "BTC/USDT", 5, 95.0, 15.0, 350.0, 1 / 95),
            (DAY_ONE, "kraken", "BTC/USDT", 4, 122.5, 50.0, 245.5, 1 / 122.5),
            (DAY_ONE, "okx", "SOL/USDT", 8, 12.5, 1.0, 60.0, 1 / 12.5),
            (DAY_TWO, "binance", "ETH/USDT", 2, 37.5, 30.0, 45.0, 1 / 37.5),
        ],
    )


def test_disconnects_daily(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = rows(warehouse, "select * from core.fct_disconnects_daily order by all")
    assert actual == [(DAY_ONE, "binance", 1), (DAY_ONE, "kraken", 2)]


def test_grid_fill_rules(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Each bucket is valued as of its end. binance BTC: last tick before 00:03:00 is 00:01:30
    # (age 90, not stale). The backfill bar opening at 00:03 (close 105, fetched 00:04:00) prices
    # its bucket as of the bar's end 00:04:00 (age 0, no live tick counted); the empty buckets after
    # it forward-fill from that end: ages 60, 120 (stale), 180 (without the bar, 00:06 was missing).
    actual = rows(
        warehouse,
        """
        select strftime(bucket_start_utc, '%H:%M'), price, fill_method, age_seconds, is_stale,
            tick_count_in_bin, strftime(source_ingestion_ts_utc, '%H:%M:%S')
        from cleansing.cln_market_grid
        where exchange_id = 'binance' and symbol = 'BTC/USDT'
        order by bucket_start_utc
        """,
    )
    assert actual == [
        ("00:00", 101.0, "observed", 20.0, False, 2, "00:00:40"),
        ("00:01", 102.0, "observed", 30.0, False, 1, "00:01:30"),
        ("00:02", 102.0, "forward_fill", 90.0, False, 0, "00:01:30"),
        ("00:03", 105.0, "backfill", 0.0, False, 0, "00:04:00"),
        ("00:04", 105.0, "forward_fill", 60.0, False, 0, "00:04:00"),
        ("00:05", 105.0, "forward_fill", 120.0, True, 0, "00:04:00"),
        ("00:06", 105.0, "forward_fill", 180.0, True, 0, "00:04:00"),
        ("00:07", 111.0, "observed", 10.0, False, 2, "00:07:50"),
        ("00:08", 112.0, "observed", 55.0, False, 1, "00:08:05"),
    ]


def test_renamed_asset_is_one_market(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = rows(
        warehouse,
        "select exchange_id, symbol, base_asset, quote_asset, raw_symbols from core.dim_market "
        "order by all",
    )
    assert actual == [
        ("binance", "BTC/USDT", "BTC", "USDT", "BTC/USDT"),
        ("binance", "ETH/USDT", "ETH", "USDT", "ETH/USDT"),
        ("kraken", "BTC/USDT", "BTC", "USDT", "XBT/USDT"),
        ("okx", "SOL/USDT", "SOL", "USDT", "SOL/USDT"),
    ]
    order = rows(
        warehouse, "select exchange_id, exchange_sort_order from core.dim_exchange order by 2"
    )
    assert order == [("binance", 0), ("kraken", 1), ("okx", 2)]


def test_price_deviation(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Fresh (not stale, not missing) BTC prices: 00:00 101 vs 100.5, 00:01 102 vs 103, 00:02 102
    # (forward fill, age 90) vs 101, 00:03 105 (backfill, age 0) vs 101 (forward fill, age 60.5),
    # 00:07 111 vs 109, 00:08 112 vs 113; 00:04-00:06 have at most one fresh price.
    aligned = rows(
        warehouse,
        """
        select strftime(bucket_start_utc, '%H:%M'), exchanges_compared, price_diff_abs,
            price_diff_pct, exchange_pair
        from core.fct_price_deviation_aligned order by bucket_start_utc
        """,
    )
    assert_rows_close(
        aligned,
        [
            ("00:00", 2, 0.5, 0.5 / 100.5 * 100, "binance|kraken"),
            ("00:01", 2, 1.0, 1 / 102 * 100, "kraken|binance"),
            ("00:02", 2, 1.0, 1 / 101 * 100, "binance|kraken"),
            ("00:03", 2, 4.0, 4 / 101 * 100, "binance|kraken"),
            ("00:07", 2, 2.0, 2 / 109 * 100, "binance|kraken"),
            ("00:08", 2, 1.0, 1 / 112 * 100, "kraken|binance"),
        ],
    )
    percentages = [0.5 / 100.5, 1 / 102, 1 / 101, 4 / 101, 2 / 109, 1 / 112]
    daily = rows(warehouse, "select * from core.fct_price_deviation_daily")
    assert_rows_close(
        daily,
        [
            (
                DAY_ONE,
                "BTC/USDT",
                6,
                4.0,
                4 / 101 * 100,
                9.5 / 6,
                sum(percentages) / 6 * 100,
                utc("2026-03-01 00:03:00"),
                "binance|kraken",
            )
        ],
    )


def test_connection_health(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Horizon: the newest grid bucket end, 2026-03-02 00:01:00.
    # binance day one: up 00:00:00-00:03:00.5 (180.5 s) and 00:07:00-24:00 (85980 s), down 239.5 s;
    # stall = 90 s silent + 240 s to the reconnect at 00:07:00; the symbol-level stall is counted
    # apart. kraken: up 240 + 82530, down 30 + 3600 (from 23:00 to midnight).
    actual = rows(
        warehouse,
        """
        select kpi_date_utc, exchange_id, disconnect_count, reconnect_count,
            avg_time_to_reconnect_s, up_seconds, down_seconds, uptime_pct, stale_detected_count,
            symbol_stale_detected_count, stall_seconds
        from core.fct_connection_health_daily order by all
        """,
    )
    assert_rows_close(
        actual,
        [
            (DAY_ONE, "binance", 1, 1, 239.5, 86160.5, 239.5, 86160.5 / 864, 1, 1, 330.0),
            (DAY_ONE, "kraken", 2, 1, 30.0, 82770.0, 3630.0, 82770 / 864, 0, 0, 0.0),
            (DAY_ONE, "okx", 0, 0, None, 0.0, 0.0, None, 0, 0, 0.0),
            (DAY_TWO, "binance", 0, 0, None, 60.0, 0.0, 100.0, 0, 0, 0.0),
        ],
    )


def test_data_quality_counts(warehouse: duckdb.DuckDBPyConnection) -> None:
    # okx SOL/USDT: 12 landed rows, one exact copy; one row per check; 00:00:35 twice with
    # different exchange times is the original's duplicate; 100.6 -> 130 is a +29 % outlier.
    actual = rows(
        warehouse,
        """
        select landed_rows, staged_ticks, null_ingestion_ts_count, unparseable_ts_count,
            null_price_count, non_positive_price_count, negative_numeric_count,
            bid_above_ask_count, duplicate_tick_count, exact_duplicates_removed,
            ticks_with_any_issue, outlier_return_count
        from cleansing.cln_dq_pair_summary where exchange_id = 'okx'
        """,
    )
    assert actual == [(12, 11, 1, 1, 1, 1, 2, 1, 2, 1, 8, 1)]
    binance_btc = rows(
        warehouse,
        """
        select backfill_rows, exact_duplicates_removed, observed_buckets, forward_fill_buckets,
            missing_buckets, stale_buckets, backfill_buckets
        from cleansing.cln_dq_pair_summary where exchange_id = 'binance' and symbol = 'BTC/USDT'
        """,
    )
    assert binance_btc == [(1, 1, 4, 4, 0, 2, 1)]
    backfill = rows(
        warehouse, "select exchange_id, close_price from staging.stg_lake__backfill_bars"
    )
    assert backfill == [("binance", 105.0)]


def test_quality_score_follows_documented_weights(warehouse: duckdb.DuckDBPyConnection) -> None:
    # binance: latency samples 50,80,80,80,100,200,300 -> p95 = 200 + 0.7*100 = 270 ms;
    # coverage 6 observed of 11 buckets (live only: the backfill bucket does not count);
    # 7 intervals over 550 s; uptime 86220.5 of 86460 s; one disconnect over two exchange-days.
    latency = 100 * (1 - 270 / 2000)
    coverage = 100 * 6 / 11
    frequency = 100 * (7 / 550) / 1.0
    uptime = 100 * 86220.5 / 86460
    disconnects = 100 / (1 + 0.5)
    expected = (
        0.30 * latency + 0.25 * coverage + 0.20 * frequency + 0.15 * uptime + 0.10 * disconnects
    )
    actual = rows(
        warehouse,
        "select quality_score, p95_latency_ms, coverage_pct, uptime_pct, disconnects_per_day "
        "from marts.mart_quality_ranking where exchange_id = 'binance'",
    )
    assert_rows_close(actual, [(expected, 270.0, coverage, uptime, 0.5)])
    # okx has no connection events: uptime is unknown and its weight is left out.
    okx: tuple[float, ...] = rows(  # type: ignore[assignment]
        warehouse,
        "select quality_score, latency_score, coverage_score, update_frequency_score, "
        "disconnect_score from core.fct_platform_quality_score where exchange_id = 'okx'",
    )[0]
    weighted = 0.30 * okx[1] + 0.25 * okx[2] + 0.20 * okx[3] + 0.10 * okx[4]
    assert okx[0] == pytest.approx(weighted / 0.85)


def test_marts_carry_base_asset_and_24h_window(warehouse: duckdb.DuckDBPyConnection) -> None:
    assert rows(
        warehouse, "select count(*) from marts.mart_price_24h where base_asset is null"
    ) == [(0,)]
    # Newest bucket 2026-03-02 00:00: the window holds buckets after 2026-03-01 00:00.
    window = rows(
        warehouse, "select min(bucket_start_utc), max(bucket_start_utc) from marts.mart_price_24h"
    )
    assert window == [(utc("2026-03-01 00:01:00"), utc("2026-03-02 00:00:00"))]
    # Backfilled buckets count as covered: binance BTC has 4 observed + 1 backfill of 9.
    coverage = rows(
        warehouse,
        "select exchange_id, observed_buckets, forward_fill_buckets, missing_buckets,"
        " total_buckets, coverage_pct, backfill_buckets from marts.mart_coverage"
        " where symbol = 'BTC/USDT' order by exchange_id",
    )
    assert_rows_close(
        coverage, [("binance", 4, 4, 0, 9, 500 / 9, 1), ("kraken", 5, 4, 0, 9, 500 / 9, 0)]
    )


def test_forecast_marts_are_empty_and_typed_before_a_forecast_run(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    assert rows(warehouse, "select count(*) from marts.mart_forecast_accuracy") == [(0,)]
    actual_only = rows(
        warehouse, "select distinct model, is_forecast from marts.mart_forecast_vs_actual"
    )
    assert actual_only == [("actual", False)]
    types = dict(
        warehouse.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'mart_forecast_accuracy'"
        ).fetchall()
    )
    assert types["mase"] == "DOUBLE"
    assert types["is_chosen"] == "BOOLEAN"
