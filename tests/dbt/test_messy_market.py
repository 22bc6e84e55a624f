"""The messy market of tests/fixtures/messy_market.py, landing database -> real exporter -> dbt.

Every case of issue 14's items 1-10 is here, each KPI cell worked out by hand in the comments
from the fixture's rows and docs/kpi_catalog.md. The build must succeed (warnings allowed) in
both fill modes, with every unusable row quarantined with its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.pandas_reference import compute_all
from extract.export.cli import main as export_main
from tests.fixtures.messy_market import DAY, REJECTED_ROWS, write_messy_landing_db
from tests.fixtures.reference_compare import assert_matches_reference
from tests.fixtures.warehouse import DbtRun, build_warehouse

pytestmark = pytest.mark.slow

KPI_DATE = date(DAY.year, DAY.month, DAY.day)
Row = tuple[object, ...]


def export_messy_lake(root: Path) -> Path:
    write_messy_landing_db(root / "worker_1.sqlite")
    lake_dir = root / "lake"
    assert (
        export_main(["--input-glob", str(root / "worker_*.sqlite"), "--output-dir", str(lake_dir)])
        == 0
    )
    return lake_dir


@pytest.fixture(scope="module")
def messy_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtRun]:
    root = tmp_path_factory.mktemp("messy")
    lake_dir = export_messy_lake(root)
    duckdb_path = root / "warehouse.duckdb"
    return duckdb_path, build_warehouse(lake_dir, duckdb_path)


@pytest.fixture
def warehouse(messy_build: tuple[Path, DbtRun]) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(messy_build[0]), read_only=True)
    yield connection
    connection.close()


def test_every_kpi_matches_the_independent_pandas_implementation(
    messy_build: tuple[Path, DbtRun],
) -> None:
    duckdb_path = messy_build[0]
    assert_matches_reference(duckdb_path, compute_all(duckdb_path.parent / "lake"))


def one_row(connection: duckdb.DuckDBPyConnection, sql: str) -> dict[str, object]:
    relation = connection.sql(sql)
    found = relation.fetchall()
    assert len(found) == 1, found
    return dict(zip(relation.columns, found[0], strict=True))


def assert_cells(actual: dict[str, object], expected: dict[str, object]) -> None:
    for column, want in expected.items():
        got = actual[column]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9), (column, got, want)
        else:
            assert got == want, (column, got, want)


def test_build_succeeds_and_warns_only_on_monitored_checks(
    messy_build: tuple[Path, DbtRun],
) -> None:
    # Item 2: the 660 s latency and the 1,000 Hz burst are monitored checks (warnings); the 3.5x
    # print is an outlier, so no filtered deviation breaches its limit. The newest usable tick
    # is from March 2026, so the recency check warns: the quarantined 2099 row does not hide
    # that. Nothing errors.
    run = messy_build[1]
    assert run.success
    warned = {node.unique_id.split(".")[2] for node in run.with_status("warn")}
    assert warned == {
        "recency_stg_lake__market_ticks_ingestion_ts_utc__24",
        "accepted_range_fct_latency_daily_latency_over_limit_count__0",
        "expression_is_true_fct_update_frequency_daily_not_is_over_frequency_limit",
    }


def test_every_unusable_row_is_quarantined_with_its_reason(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # Item 4 (and the unknown enum values of item 2, the far-future row of item 3).
    reasons = Counter(
        reason
        for (reason,) in warehouse.sql(
            "select rejection_reason from cleansing.cln_rejected_ticks"
        ).fetchall()
    )
    assert reasons == Counter(reason for reason, _ in REJECTED_ROWS)
    exchanges = {
        row[0] for row in warehouse.sql("select exchange_id from core.dim_exchange").fetchall()
    }
    assert exchanges == {"binance", "kraken", "okx", "kucoin"}
    quarantined = dict(
        warehouse.sql(
            "select check_name, sum(row_count) from core.fct_data_quality_daily"
            " where check_kind = 'quarantined_tick' group by check_name"
        ).fetchall()
    )
    assert quarantined == dict(Counter(reason for reason, _ in REJECTED_ROWS))


def test_a_far_future_tick_adds_no_grid_row(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 3: binance BTC/USDT was watched 10:00-11:00 and 12:00-12:30 only: 90 buckets, the 2099
    # tick (quarantined) adds none.
    grid = one_row(
        warehouse,
        "select count(*) as buckets, min(bucket_start_utc) as first, max(bucket_start_utc) as last"
        " from cleansing.cln_market_grid where exchange_id = 'binance' and symbol = 'BTC/USDT'",
    )
    assert grid["buckets"] == 90
    assert grid["last"].year == DAY.year  # type: ignore[attr-defined]


def test_latency_with_an_old_exchange_time_and_a_replay(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # Items 2 and 8. binance BTC/USDT: 360 + 180 ticks are KPI ticks; the replayed frame is a
    # duplicate (no KPI tick, no sample). 539 samples of 100 ms and one of 660,000 ms:
    # avg = (539 * 100 + 660000) / 540; p95 and p50 = 100; one sample over the 600,000 ms limit.
    latency = one_row(
        warehouse,
        "select * from core.fct_latency_daily"
        " where exchange_id = 'binance' and symbol = 'BTC/USDT'",
    )
    assert_cells(
        latency,
        {
            "kpi_date_utc": KPI_DATE,
            "kpi_tick_count": 540,
            "latency_sample_count": 540,
            "avg_latency_ms": (539 * 100 + 660_000) / 540,
            "min_latency_ms": 100.0,
            "max_latency_ms": 660_000.0,
            "p50_latency_ms": 100.0,
            "p95_latency_ms": 100.0,
            "negative_latency_count": 0,
            "clock_skew_estimate_ms": None,
            "missing_exchange_ts_count": 0,
            "latency_over_limit_count": 1,
        },
    )
    quality = one_row(
        warehouse,
        "select replay_count, duplicate_tick_count from cleansing.cln_dq_daily"
        " where exchange_id = 'binance' and symbol = 'BTC/USDT'",
    )
    assert quality == {"replay_count": 1, "duplicate_tick_count": 1}


def test_a_clock_ahead_is_counted_not_dropped(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 9. kucoin's 360 ticks all carry an exchange time 200 ms after reception: no sample,
    # 360 negative latencies, skew estimate = -median(-200) = 200 ms.
    latency = one_row(
        warehouse, "select * from core.fct_latency_daily where exchange_id = 'kucoin'"
    )
    assert_cells(
        latency,
        {
            "kpi_tick_count": 360,
            "latency_sample_count": 0,
            "avg_latency_ms": None,
            "p95_latency_ms": None,
            "negative_latency_count": 360,
            "clock_skew_estimate_ms": 200.0,
        },
    )


def test_update_frequency_skips_unobserved_time_and_flags_a_burst(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # Items 2 and 5. binance BTC/USDT: 359 + 179 intervals of 10 s inside the two sessions; the
    # gap from 10:59:55 to 12:00:05 spans the collector's stop and is not an interval. The
    # replay adds none. binance ETH/USDT: two intervals of 1 ms = 1,000 Hz, flagged.
    btc = one_row(
        warehouse,
        "select * from core.fct_update_frequency_daily"
        " where exchange_id = 'binance' and symbol = 'BTC/USDT'",
    )
    assert_cells(
        btc,
        {
            "interval_count": 538,
            "avg_update_interval_s": 10.0,
            "min_update_interval_s": 10.0,
            "max_update_interval_s": 10.0,
            "update_frequency_hz": 0.1,
            "unobserved_interval_count": 1,
            "is_over_frequency_limit": False,
        },
    )
    eth = one_row(
        warehouse,
        "select * from core.fct_update_frequency_daily"
        " where exchange_id = 'binance' and symbol = 'ETH/USDT'",
    )
    assert_cells(
        eth,
        {"interval_count": 2, "update_frequency_hz": 1000.0, "is_over_frequency_limit": True},
    )


def test_availability_only_while_the_collector_ran(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 5. The data horizon is the newest watch end, 12:30 (45,000 s into the day).
    # okx: watched 10:00-11:00 (not in the second session), down 10:30:00-10:30:10.
    okx = one_row(
        warehouse, "select * from core.fct_connection_health_daily where exchange_id = 'okx'"
    )
    assert_cells(
        okx,
        {
            "disconnect_count": 1,
            "reconnect_count": 1,
            "avg_time_to_reconnect_s": 10.0,
            "up_seconds": 3590.0,
            "down_seconds": 10.0,
            "observed_seconds": 3600.0,
            "unobserved_seconds": 45_000.0 - 3600.0,
            "uptime_pct": 3590 / 3600 * 100,
        },
    )
    # binance: up in both sessions (3,600 s + 1,800 s), never charged for 11:00-12:00.
    binance = one_row(
        warehouse, "select * from core.fct_connection_health_daily where exchange_id = 'binance'"
    )
    assert_cells(
        binance,
        {
            "up_seconds": 5400.0,
            "down_seconds": 0.0,
            "observed_seconds": 5400.0,
            "unobserved_seconds": 45_000.0 - 5400.0,
            "uptime_pct": 100.0,
        },
    )


def test_a_silent_stream_loses_coverage(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 6. okx SOL/USDT ticks until 10:09:55 while okx stays watched to 11:00: 60 watched
    # buckets, 10 observed; 10:10-10:14 forward filled (ages 5 s .. 245 s from 10:09:55, the
    # bucket start being the reference), 10:15-10:59 missing (age > 300 s).
    coverage = one_row(
        warehouse,
        "select * from core.fct_coverage_daily where exchange_id = 'okx' and symbol = 'SOL/USDT'",
    )
    assert_cells(
        coverage,
        {
            "watched_buckets": 60,
            "observed_buckets": 10,
            "forward_fill_buckets": 5,
            "missing_buckets": 45,
            "live_coverage_pct": 10 / 60 * 100,
        },
    )


def test_an_outlier_is_not_the_headline(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 7. binance BTC/USDT 100.0 vs kraken 100.5 in the 60 buckets of 10:00-10:59 (kraken is
    # not watched after 11:00). binance's 10:20 bucket closes at 350.0 (+250 %) and its 10:21
    # bucket back at 100.0 (-71 %): both outlier returns, left out of the filtered figures.
    # Filtered: 58 buckets of 0.5 (0.5 %), the first at 10:00, highest kraken, lowest binance.
    # Unfiltered maximum: 350.0 - 100.5 = 249.5, 249.5 / 100.5 * 100 %.
    deviation = one_row(
        warehouse, "select * from core.fct_price_deviation_daily where symbol = 'BTC/USDT'"
    )
    assert_cells(
        deviation,
        {
            "aligned_points_compared": 58,
            "max_price_diff_abs": 0.5,
            "max_price_diff_pct": 0.5,
            "avg_price_diff_abs": 0.5,
            "max_diff_exchange_pair": "kraken|binance",
            "unfiltered_max_price_diff_abs": 249.5,
            "unfiltered_max_price_diff_pct": 249.5 / 100.5 * 100,
            "outlier_buckets": 2,
            "over_deviation_limit_count": 0,
        },
    )
    assert deviation["max_diff_bucket_start_utc"] == DAY.replace(hour=10)


def test_quality_score_leaves_out_missing_latency(warehouse: duckdb.DuckDBPyConnection) -> None:
    # Item 1. kraken has no exchange time: no latency component. Coverage: 58 of 60 watched
    # buckets observed (the 10:45 and 10:46 buckets are filled). Frequency: 348 ticks from
    # 10:00:05 to 10:59:55 give 347 intervals over 3,590 s, 347 / 3590 Hz, scored
    # 100 * min(1, hz / 1.0). Uptime 100, no disconnect: 100. Weights 0.25, 0.20, 0.15, 0.10
    # renormalised over 0.70.
    kraken = one_row(
        warehouse,
        "select * from core.fct_platform_quality_score where exchange_id = 'kraken'",
    )
    coverage = 58 / 60 * 100
    frequency = 347 / 3590 * 100
    assert_cells(
        kraken,
        {
            "latency_score": None,
            "coverage_score": coverage,
            "update_frequency_score": frequency,
            "uptime_score": 100.0,
            "disconnect_score": 100.0,
            "quality_score": (0.25 * coverage + 0.20 * frequency + 0.15 * 100 + 0.10 * 100) / 0.70,
        },
    )


def kraken_fill_methods(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(
        connection.sql(
            "select fill_method, count(*) from cleansing.cln_market_grid"
            " where exchange_id = 'kraken' group by fill_method"
        ).fetchall()
    )


def test_kraken_gap_is_forward_filled_by_default(warehouse: duckdb.DuckDBPyConnection) -> None:
    # The 10:45 and 10:46 buckets: the last tick before them is 10:44:55 (ages 5 s and 65 s).
    assert kraken_fill_methods(warehouse) == {"observed": 58, "forward_fill": 2}


def test_interpolation_mode_builds_the_same_lake(tmp_path: Path) -> None:
    # Item 10: the documented non-default fill mode builds, unit tests included. kraken's gap has
    # a point within max_forward_fill_s on both sides of 10:45 and 10:46 (10:44:55, 10:47:05):
    # both buckets are interpolated.
    lake_dir = export_messy_lake(tmp_path)
    duckdb_path = tmp_path / "warehouse.duckdb"
    run = build_warehouse(lake_dir, duckdb_path, dbt_vars={"fill_method_mode": "interpolation"})
    assert run.success
    connection = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        assert kraken_fill_methods(connection) == {"observed": 58, "interpolation": 2}
    finally:
        connection.close()
