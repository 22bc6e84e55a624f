"""Incremental builds: a rebuild without new data changes nothing, and a lake that grows (new day,
late files for the day before) builds incrementally to exactly what a full refresh builds.
The full-refresh warehouse is then checked against the independent pandas implementation.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from bench.pandas_reference import compute_all
from tests.fixtures.lake import (
    LakeEvent,
    LakeTick,
    SyntheticLakeSpec,
    epoch_ms,
    utc,
    write_lake,
    write_synthetic_lake,
)
from tests.fixtures.reference_compare import assert_matches_reference
from tests.fixtures.warehouse import DbtRun, build_warehouse, read_tables

pytestmark = pytest.mark.slow

# Changes on every build by design (invocation id and start time).
PER_BUILD_TABLES = ("cln_dq_run_summary",)


@dataclass(frozen=True)
class GrowingLake:
    lake_dir: Path
    incremental_db: Path
    full_refresh_db: Path
    before_growth: dict[str, pd.DataFrame]
    rebuilt_without_new_data: dict[str, pd.DataFrame]
    growth_build: DbtRun
    growth_stamp: str


def noisy_ticks() -> list[LakeTick]:
    """Renamed symbols, an exact duplicate, unusable prices, missing/negative latency, backfill."""
    base = utc("2026-03-02 00:05:00")
    ticks: list[LakeTick] = []
    for minute in range(0, 50, 7):
        moment = base + pd.Timedelta(minutes=minute, seconds=13).to_pytimedelta()
        ticks.append(
            LakeTick("kraken", "XBT/USDT", moment, 100.0 + minute / 10, epoch_ms(moment) - 250)
        )
    duplicate = LakeTick("kraken", "XBT/USDT", utc("2026-03-02 00:30:01"), 105.5, None)
    ticks += [duplicate, duplicate]
    ticks += [
        LakeTick("kraken", "XBT/USDT", utc("2026-03-02 00:31:02"), 0.0, None),
        LakeTick("kraken", "XBT/USDT", utc("2026-03-02 00:31:03"), None, None),
        LakeTick(
            "kraken",
            "XBT/USDT",
            utc("2026-03-02 00:31:04"),
            105.0,
            epoch_ms(utc("2026-03-02 00:31:05")),
        ),
        LakeTick(
            "kraken",
            "XBT/USDT",
            utc("2026-03-02 00:40:00"),
            104.0,
            epoch_ms(utc("2026-03-02 00:38:00")),
            source="backfill",
        ),
    ]
    # A start-up backfill of a pair without live ticks: bars, forward fills from a bar's end, and
    # a gap longer than max_forward_fill_s (00:24-00:28 fill, 00:29 is missing).
    fetched = utc("2026-03-02 00:31:00")
    for minute, close in ((20, 150.0), (21, 151.0), (23, 152.0), (30, 153.0)):
        bar_open = utc(f"2026-03-02 00:{minute}:00")
        ticks.append(
            LakeTick("kraken", "SOL/USDT", fetched, close, epoch_ms(bar_open), source="backfill")
        )
    return ticks


def connection_events() -> list[LakeEvent]:
    return [
        LakeEvent("binance", utc("2026-03-01 00:00:00"), "connected"),
        LakeEvent("binance", utc("2026-03-01 23:50:00"), "disconnect"),
        LakeEvent("binance", utc("2026-03-02 00:05:00"), "reconnected"),
        LakeEvent("okx", utc("2026-03-02 01:00:00"), "disconnect"),
    ]


@pytest.fixture(scope="module")
def growing_lake(tmp_path_factory: pytest.TempPathFactory) -> GrowingLake:
    root = tmp_path_factory.mktemp("growing")
    lake_dir = root / "lake"
    sparse = 1 / 45  # ticks per pair and second: forward fills, stale and missing buckets
    write_synthetic_lake(
        lake_dir,
        SyntheticLakeSpec(
            start_utc=utc("2026-02-28 22:00:00"), hours=4, seed=1, ticks_per_pair_per_s=sparse
        ),
    )
    incremental_db = root / "incremental.duckdb"
    build_warehouse(lake_dir, incremental_db)
    before_growth = read_tables(incremental_db, exclude=PER_BUILD_TABLES)
    build_warehouse(lake_dir, incremental_db)
    rebuilt = read_tables(incremental_db, exclude=PER_BUILD_TABLES)

    # Growth: a new day; then late files for an hour already loaded, with noise and events.
    write_synthetic_lake(
        lake_dir,
        SyntheticLakeSpec(
            start_utc=utc("2026-03-01 23:00:00"),
            hours=3,
            seed=2,
            run_id="next",
            ticks_per_pair_per_s=sparse,
        ),
    )
    growth_build = build_warehouse(lake_dir, incremental_db)
    growth_stamp = newest_build_stamp(incremental_db)
    write_lake(lake_dir, noisy_ticks(), connection_events(), run_id="late")
    write_lake(lake_dir, noisy_ticks(), (), run_id="late")  # exported twice: same row keys
    build_warehouse(lake_dir, incremental_db)

    # The reference: the same project built from scratch (models only; the tests ran above).
    full_refresh_db = root / "full_refresh.duckdb"
    shutil.copy(incremental_db, full_refresh_db)
    build_warehouse(
        lake_dir,
        full_refresh_db,
        full_refresh=True,
        extra_args=["--exclude", "resource_type:test", "resource_type:unit_test"],
    )
    return GrowingLake(
        lake_dir,
        incremental_db,
        full_refresh_db,
        before_growth,
        rebuilt,
        growth_build,
        growth_stamp,
    )


def newest_build_stamp(duckdb_path: Path) -> str:
    """The newest build's start as the models stamp it (built_at_utc), in UTC text."""
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        row = connection.execute(
            "select strftime(max(built_at_utc) at time zone 'UTC', '%Y-%m-%d %H:%M:%S.%f') "
            "from staging.stg_lake__market_ticks"
        ).fetchone()
    assert row is not None
    assert row[0] is not None
    return str(row[0])


def assert_same_tables(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert actual.keys() == expected.keys()
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(actual[name], frame, check_exact=False, rtol=1e-9, obj=name)


def test_second_build_without_new_data_changes_nothing(growing_lake: GrowingLake) -> None:
    assert len(growing_lake.before_growth["cleansing.cln_market_grid"]) > 0
    assert_same_tables(growing_lake.rebuilt_without_new_data, growing_lake.before_growth)


def test_incremental_build_equals_full_refresh(growing_lake: GrowingLake) -> None:
    incremental = read_tables(growing_lake.incremental_db, exclude=PER_BUILD_TABLES)
    full_refresh = read_tables(growing_lake.full_refresh_db, exclude=PER_BUILD_TABLES)
    # The growth reached the incremental tables: a second day and the late ticks are in.
    days = set(incremental["staging.stg_lake__market_ticks"]["tick_date_utc"].astype(str))
    assert days == {"2026-02-28", "2026-03-01", "2026-03-02"}
    ticks = incremental["cleansing.cln_tick_quality"]
    renamed = ticks[ticks["symbol_raw"] == "XBT/USDT"]
    assert set(renamed["symbol"]) == {"BTC/USDT"}
    # Every noisy tick was exported twice (the same lake rows: counted once); the duplicate
    # written twice into the landing file landed twice.
    assert sorted(set(renamed["landed_copies"])) == [1, 2]
    assert_same_tables(incremental, full_refresh)


def test_tests_of_an_incremental_build_check_the_rows_that_build_wrote(
    growing_lake: GrowingLake,
) -> None:
    # dbt renders a test's `where` config when it parses the project, and partial parsing keeps it
    # for later runs: the build's start must come in when the test runs, not from the config text.
    scoped = [
        node for node in growing_lake.growth_build.nodes if "built_at_utc = " in node.compiled_code
    ]
    assert len(scoped) >= 50, "the data tests of the incremental models"
    stale = [
        node.unique_id
        for node in scoped
        if f"'{growing_lake.growth_stamp}+00'" not in node.compiled_code
    ]
    assert stale == []


def test_kpis_match_the_independent_pandas_implementation(growing_lake: GrowingLake) -> None:
    reference = compute_all(growing_lake.lake_dir)
    fill_methods = set(reference["cln_market_grid"]["fill_method"])
    assert {"observed", "backfill", "forward_fill", "missing"} <= fill_methods
    assert_matches_reference(growing_lake.full_refresh_db, reference)
