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
    # KPI ticks are usable live ticks that are no duplicate.
    # binance BTC: 00:00:10 (100 ms), 00:00:40 (300; its copy collapsed), 00:01:30 (200), 00:07:20
    # (50), 00:07:50 (no exchange time), 00:08:05 (-500): 6 KPI ticks, samples 50,100,200,300 ->
    # mean 162.5, p50 150, p95 = 200 + 0.85*100, p99 = 200 + 0.97*100; one negative (skew 500).
    # kraken BTC: 1000,400,250,100,150 -> sorted, p95 = 400 + 0.8*600, p99 = 400 + 0.96*600.
    # okx SOL: the null-price, negative-price and null-time rows are quarantined; 00:00:35 twice
    # with the same price is a same-time duplicate; 00:00:34's 1970 exchange time is implausible:
    # KPI ticks :32 :33 :34 :35 :36 01:10 02:10, six samples of 100 ms, one without a time.
    actual = rows(
        warehouse, "select * exclude (built_at_utc) from core.fct_latency_daily order by all"
    )
    assert_rows_close(
        actual,
        [
            (
                DAY_ONE,
                "binance",
                "BTC/USDT",
                6,
                4,
                162.5,
                50.0,
                300.0,
                150.0,
                285.0,
                297.0,
                1,
                500.0,
                1,
                0,
            ),
            (
                DAY_ONE,
                "binance",
                "ETH/USDT",
                1,
                1,
                80.0,
                80.0,
                80.0,
                80.0,
                80.0,
                80.0,
                0,
                None,
                0,
                0,
            ),
            (
                DAY_ONE,
                "kraken",
                "BTC/USDT",
                5,
                5,
                380.0,
                100.0,
                1000.0,
                250.0,
                880.0,
                976.0,
                0,
                None,
                0,
                0,
            ),
            (
                DAY_ONE,
                "okx",
                "SOL/USDT",
                7,
                6,
                100.0,
                100.0,
                100.0,
                100.0,
                100.0,
                100.0,
                0,
                None,
                1,
                0,
            ),
            (
                DAY_TWO,
                "binance",
                "ETH/USDT",
                2,
                2,
                80.0,
                80.0,
                80.0,
                80.0,
                80.0,
                80.0,
                0,
                None,
                0,
                0,
            ),
        ],
    )


def test_update_frequency_daily(warehouse: duckdb.DuckDBPyConnection) -> None:
    # binance BTC KPI ticks 00:00:10, :40, 01:30, 07:20, 07:50, 08:05 -> 30, 50, 350, 30, 15 s.
    # kraken: 50, 109.5, 245.5, 85 s. ETH: 23:59:30 -> 00:00:15 (45 s) and 30 s, both on day two.
    # okx KPI ticks :32 :33 :34 :35 :36 01:10 02:10 -> 1, 1, 1, 1, 34, 60 s (98 s in all).
    actual = rows(
        warehouse,
        "select * exclude (built_at_utc, unobserved_interval_count, is_over_frequency_limit)"
        " from core.fct_update_frequency_daily order by all",
    )
    assert_rows_close(
        actual,
        [
            (DAY_ONE, "binance", "BTC/USDT", 5, 95.0, 15.0, 350.0, 1 / 95),
            (DAY_ONE, "kraken", "BTC/USDT", 4, 122.5, 50.0, 245.5, 1 / 122.5),
            (DAY_ONE, "okx", "SOL/USDT", 6, 98 / 6, 1.0, 60.0, 6 / 98),
            (DAY_TWO, "binance", "ETH/USDT", 2, 37.5, 30.0, 45.0, 1 / 37.5),
        ],
    )


def test_disconnects_daily(warehouse: duckdb.DuckDBPyConnection) -> None:
    actual = rows(
        warehouse, "select * exclude (built_at_utc) from core.fct_disconnects_daily order by all"
    )
    assert actual == [(DAY_ONE, "binance", 1), (DAY_ONE, "kraken", 2)]


def test_grid_fill_rules(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Each bucket is valued as of its start (the original's definition); binance is watched from
    # its worker_start at 00:00 to its last row (2026-03-02 00:00:45). The backfill bar opening at
    # 00:03 (close 105, fetched 00:04:00) prices its bucket; the empty buckets after it forward-fill
    # from the bar's end 00:04:00: ages 0, 60, 120 (stale). After 00:08:05: 55, 115, ..., 295, then
    # missing (355 > 300) for the rest of the watched day.
    actual = rows(
        warehouse,
        """
        select strftime(bucket_start_utc, '%H:%M'), price, fill_method, age_seconds, is_stale,
            tick_count_in_bin, strftime(source_ingestion_ts_utc, '%H:%M:%S')
        from cleansing.cln_market_grid
        where exchange_id = 'binance' and symbol = 'BTC/USDT'
            and bucket_start_utc < '2026-03-01 00:15:00+00'
        order by bucket_start_utc
        """,
    )
    assert actual == [
        ("00:00", 101.0, "observed", 0.0, False, 2, "00:00:40"),
        ("00:01", 102.0, "observed", 0.0, False, 1, "00:01:30"),
        ("00:02", 102.0, "forward_fill", 30.0, False, 0, "00:01:30"),
        ("00:03", 105.0, "backfill", 0.0, False, 0, "00:04:00"),
        ("00:04", 105.0, "forward_fill", 0.0, False, 0, "00:04:00"),
        ("00:05", 105.0, "forward_fill", 60.0, False, 0, "00:04:00"),
        ("00:06", 105.0, "forward_fill", 120.0, True, 0, "00:04:00"),
        ("00:07", 111.0, "observed", 0.0, False, 2, "00:07:50"),
        ("00:08", 112.0, "observed", 0.0, False, 1, "00:08:05"),
        ("00:09", 112.0, "forward_fill", 55.0, False, 0, "00:08:05"),
        ("00:10", 112.0, "forward_fill", 115.0, True, 0, "00:08:05"),
        ("00:11", 112.0, "forward_fill", 175.0, True, 0, "00:08:05"),
        ("00:12", 112.0, "forward_fill", 235.0, True, 0, "00:08:05"),
        ("00:13", 112.0, "forward_fill", 295.0, True, 0, "00:08:05"),
        ("00:14", None, "missing", None, True, 0, None),
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
    # Fresh (not stale, not missing) BTC prices, binance vs kraken: 00:00 101 vs 100.5, 00:01 102
    # vs 103, 00:02 102 (age 30) vs 101, 00:03 105 (backfill) vs 101 (age 0.5), 00:04 105 (age 0)
    # vs 101 (age 60.5), 00:07 111 vs 109, 00:08 112 vs 113, 00:09 112 (age 55) vs 113 (age 30);
    # 00:05-00:06 and from 00:10 at most one price is fresh.
    aligned = rows(
        warehouse,
        """
        select strftime(bucket_start_utc, '%H:%M'), exchanges_compared, price_diff_abs,
            price_diff_pct, exchange_pair, unfiltered_price_diff_abs
        from core.fct_price_deviation_aligned order by bucket_start_utc
        """,
    )
    assert_rows_close(
        aligned,
        [
            ("00:00", 2, 0.5, 0.5 / 100.5 * 100, "binance|kraken", 0.5),
            ("00:01", 2, 1.0, 1 / 102 * 100, "kraken|binance", 1.0),
            ("00:02", 2, 1.0, 1 / 101 * 100, "binance|kraken", 1.0),
            ("00:03", 2, 4.0, 4 / 101 * 100, "binance|kraken", 4.0),
            ("00:04", 2, 4.0, 4 / 101 * 100, "binance|kraken", 4.0),
            ("00:07", 2, 2.0, 2 / 109 * 100, "binance|kraken", 2.0),
            ("00:08", 2, 1.0, 1 / 112 * 100, "kraken|binance", 1.0),
            ("00:09", 2, 1.0, 1 / 112 * 100, "kraken|binance", 1.0),
        ],
    )
    percentages = [0.5 / 100.5, 1 / 102, 1 / 101, 4 / 101, 4 / 101, 2 / 109, 1 / 112, 1 / 112]
    daily = rows(
        warehouse,
        "select kpi_date_utc, symbol, aligned_points_compared, max_price_diff_abs,"
        " max_price_diff_pct, avg_price_diff_abs, avg_price_diff_pct, max_diff_bucket_start_utc,"
        " max_diff_exchange_pair, unfiltered_max_price_diff_abs, outlier_buckets"
        " from core.fct_price_deviation_daily",
    )
    assert_rows_close(
        daily,
        [
            (
                DAY_ONE,
                "BTC/USDT",
                8,
                4.0,
                4 / 101 * 100,
                14.5 / 8,
                sum(percentages) / 8 * 100,
                utc("2026-03-01 00:03:00"),
                "binance|kraken",
                4.0,
                0,
            )
        ],
    )


def test_connection_health(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Watched: binance 2026-03-01 00:00 (worker_start) to 2026-03-02 00:00:45 (its last row, no
    # stop recorded); kraken's file has no worker_start: its first to last row, 00:00 to 23:00;
    # okx: its first to last usable row, 00:00:32 to 00:02:10, with no connection event (state
    # unknown: neither up nor down). Horizon 2026-03-02 00:00:45.
    # binance day one: up 00:00:00-00:03:00.5 (180.5 s) and 00:07:00-24:00 (85980 s), down
    # 239.5 s; stall = 90 s silent + 240 s to the reconnect at 00:07:00; the symbol-level stall is
    # counted apart. kraken: up 240 + 82530, down 30; the 23:00 disconnect ends the watched time
    # (no reconnect in its interval), then 3600 s unobserved.
    actual = rows(
        warehouse,
        """
        select kpi_date_utc, exchange_id, disconnect_count, reconnect_count,
            avg_time_to_reconnect_s, up_seconds, down_seconds, observed_seconds,
            unobserved_seconds, uptime_pct, stale_detected_count, symbol_stale_detected_count,
            stall_seconds
        from core.fct_connection_health_daily order by all
        """,
    )
    assert_rows_close(
        actual,
        [
            (
                DAY_ONE,
                "binance",
                1,
                1,
                239.5,
                86160.5,
                239.5,
                86400.0,
                0.0,
                86160.5 / 864,
                1,
                1,
                330.0,
            ),
            (
                DAY_ONE,
                "kraken",
                2,
                1,
                30.0,
                82770.0,
                30.0,
                82800.0,
                3600.0,
                82770 / 828,
                0,
                0,
                0.0,
            ),
            (DAY_ONE, "okx", 0, 0, None, 0.0, 0.0, 98.0, 86302.0, None, 0, 0, 0.0),
            (DAY_TWO, "binance", 0, 0, None, 45.0, 0.0, 45.0, 0.0, 100.0, 0, 0, 0.0),
        ],
    )


def test_data_quality_counts(warehouse: duckdb.DuckDBPyConnection) -> None:
    # okx SOL/USDT: 12 lake rows; null price, negative price and null reception time are
    # quarantined; 9 usable rows of which one exact copy (8 staged); one row per flag; 00:00:35
    # twice with the same price is the original's duplicate; 100.6 -> 130 is a +29 % outlier.
    quarantined = rows(
        warehouse,
        "select rejection_reason, count(*) from cleansing.cln_rejected_ticks group by all"
        " order by all",
    )
    assert quarantined == [("non_positive_price", 1), ("null_ingestion_ts", 1), ("null_price", 1)]
    actual = rows(
        warehouse,
        """
        select landed_rows, staged_ticks, exact_duplicates_removed, same_time_duplicate_count,
            replay_count, duplicate_tick_count, negative_numeric_count, bid_above_ask_count,
            implausible_exchange_ts_count, outlier_return_count
        from cleansing.cln_dq_pair_summary where exchange_id = 'okx'
        """,
    )
    assert actual == [(9, 8, 1, 1, 0, 2, 1, 1, 1, 1)]
    binance_btc = rows(
        warehouse,
        """
        select backfill_rows, exact_duplicates_removed, observed_buckets, forward_fill_buckets,
            missing_buckets, backfill_buckets, total_buckets
        from cleansing.cln_dq_pair_summary where exchange_id = 'binance' and symbol = 'BTC/USDT'
        """,
    )
    # 1440 watched buckets on day one plus 00:00 on day two (missing).
    assert binance_btc == [(1, 1, 4, 9, 1427, 1, 1441)]
    by_check = rows(
        warehouse,
        "select check_kind, check_name, row_count from core.fct_data_quality_daily"
        " where exchange_id = 'okx' order by all",
    )
    assert by_check == [
        ("flagged_bucket", "outlier_return", 1),
        ("flagged_tick", "bid_above_ask", 1),
        ("flagged_tick", "exact_duplicate", 1),
        ("flagged_tick", "implausible_exchange_ts", 1),
        ("flagged_tick", "negative_numeric", 1),
        ("flagged_tick", "same_time_duplicate", 1),
        ("quarantined_tick", "non_positive_price", 1),
        ("quarantined_tick", "null_ingestion_ts", 1),
        ("quarantined_tick", "null_price", 1),
    ]


def test_quality_score_follows_documented_weights(warehouse: duckdb.DuckDBPyConnection) -> None:
    # binance over the window (both days): daily p95 latency day one over 50,80,100,200,300 =
    # 200 + 0.8*100 = 280, day two 80 -> mean 180 ms; live coverage 6 observed of 2882 watched
    # buckets; 7 intervals over 550 s; up 86205.5 of 86445 s with a known state; one disconnect
    # over two observed days.
    latency = 100 * (1 - 180 / 2000)
    coverage = 100 * 6 / 2882
    frequency = 100 * (7 / 550) / 1.0
    uptime = 100 * 86205.5 / 86445
    disconnects = 100 / (1 + 0.5)
    expected = (
        0.30 * latency + 0.25 * coverage + 0.20 * frequency + 0.15 * uptime + 0.10 * disconnects
    )
    actual = rows(
        warehouse,
        "select quality_score, p95_latency_ms, live_coverage_pct, uptime_pct, disconnects_per_day"
        " from marts.mart_quality_ranking where exchange_id = 'binance'",
    )
    assert_rows_close(actual, [(expected, 180.0, coverage, uptime, 0.5)])
    # okx has no connection event: uptime is unknown (null, not 0) and its weight is left out.
    okx: tuple[float, ...] = rows(  # type: ignore[assignment]
        warehouse,
        "select quality_score, latency_score, coverage_score, update_frequency_score,"
        " disconnect_score, uptime_score from core.fct_platform_quality_score"
        " where exchange_id = 'okx'",
    )[0]
    assert okx[5] is None
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
    # Day one, BTC: binance 4 observed + 1 backfill of 1440 watched buckets; kraken 5 observed of
    # 1380 (watched until 23:00), its last hour unobserved.
    coverage = rows(
        warehouse,
        "select exchange_id, observed_buckets, forward_fill_buckets, missing_buckets,"
        " total_buckets, unobserved_buckets, coverage_pct, backfill_buckets, live_coverage_pct"
        " from marts.mart_coverage where symbol = 'BTC/USDT' and kpi_date_utc = '2026-03-01'"
        " order by exchange_id",
    )
    assert_rows_close(
        coverage,
        [
            ("binance", 4, 9, 1426, 1440, 0, 500 / 1440, 1, 400 / 1440),
            ("kraken", 5, 9, 1366, 1380, 60, 500 / 1380, 0, 500 / 1380),
        ],
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
