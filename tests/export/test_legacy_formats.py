"""``--output-format sqlite|csv|json``: the original's single-file staging exports."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import tracemalloc
from contextlib import closing
from pathlib import Path

import pytest

from export.lake_checks import run_export, source_keys
from export.landing_factory import Landing, make_landing

# a fixed end keeps the window on the generated data whatever today's date
LAST_100H = ("--hours", "100", "--until", "2026-11-19T00:00:00Z")
BASE_NAME = re.compile(r"^staging_export_\d{8}_\d{6}_last_100h")


def _only(directory: Path, pattern: str) -> Path:
    (match,) = directory.glob(pattern)
    assert BASE_NAME.match(match.name), match.name
    return match


def test_sqlite_format_writes_one_database_with_both_tables(
    three_landings: list[Landing], landing_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "staging"
    assert run_export(landing_dir, out, "--output-format", "sqlite", *LAST_100H) == 0

    database = _only(out, "*.db")
    with closing(sqlite3.connect(database)) as connection:
        keys = sorted(
            (Path(db).name, row_id)
            for db, row_id in connection.execute(
                "select source_db, source_row_id from market_ticks"
            )
        )
        (events,) = connection.execute("select count(*) from connection_events").fetchone()
        (raw,) = connection.execute("select raw_json from market_ticks limit 1").fetchone()
    assert keys == source_keys([x.path for x in three_landings], "market_ticks")
    assert events == 60
    assert raw.startswith('{"symbol":')
    metadata = json.loads(_only(out, "*_metadata.json").read_text())
    assert metadata["output_files"] == [str(database)]
    assert metadata["row_counts"]["market_ticks"] == 9_000
    assert not list(out.glob(".*.tmp"))


def test_csv_format_writes_one_file_per_table_with_the_original_columns(
    three_landings: list[Landing], landing_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "staging"
    code = run_export(
        landing_dir, out, "--output-format", "csv", *LAST_100H, "--exchanges", "kraken"
    )
    assert code == 0

    with _only(out, "*_market_ticks.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:5] == [
        "source_db",
        "source_row_id",
        "ingestion_ts_utc",
        "exchange_id",
        "symbol",
    ]
    assert {row["exchange_id"] for row in rows} == {"kraken"}
    expected = source_keys(
        [x.path for x in three_landings], "market_ticks", "exchange_id = 'kraken'"
    )
    assert sorted((Path(r["source_db"]).name, int(r["source_row_id"])) for r in rows) == expected
    assert rows[0]["ingestion_ts_utc"].endswith("+00:00")
    with _only(out, "*_connection_events.csv").open(newline="") as handle:
        assert {row["exchange_id"] for row in csv.DictReader(handle)} == {"kraken"}


def test_json_format_writes_arrays_of_row_objects(
    three_landings: list[Landing], landing_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "staging"
    code = run_export(
        landing_dir, out, "--output-format", "json", *LAST_100H, "--skip-connection-events"
    )
    assert code == 0

    ticks = json.loads(_only(out, "*_market_ticks.json").read_text())
    assert len(ticks) == 9_000
    assert isinstance(ticks[0]["price"], float)
    assert not list(out.glob("*_connection_events.json"))


def test_incremental_legacy_export_writes_nothing_when_nothing_is_new(
    three_landings: list[Landing], landing_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "staging"
    args = ("--output-format", "json", "--incremental", "--skip-connection-events")
    assert run_export(landing_dir, out, *args) == 0
    before = sorted(out.glob("*.json"))

    assert run_export(landing_dir, out, *args) == 0

    assert sorted(out.glob("*.json")) == before


@pytest.mark.parametrize("output_format", ["csv", "json", "sqlite"])
def test_a_failed_source_leaves_no_rows_in_a_legacy_file(
    three_landings: list[Landing], landing_dir: Path, tmp_path: Path, output_format: str
) -> None:
    (landing_dir / "worker_3.sqlite").write_bytes(b"garbage" * 1000)
    out = tmp_path / "staging"

    assert run_export(landing_dir, out, "--output-format", output_format) == 1

    metadata = json.loads(next(out.glob("*_metadata.json")).read_text())
    assert metadata["row_counts"]["market_ticks"] == 9_000
    assert [f["file"] for f in metadata["source"]["failed_files"]] == [
        str(landing_dir / "worker_3.sqlite")
    ]


def _peak_python_bytes(landing_dir: Path, out: Path, *extra: str) -> int:
    """Peak memory of Python objects (tracemalloc) during one real export."""
    tracemalloc.start()
    try:
        assert run_export(landing_dir, out, "--workers", "1", *extra) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.slow
@pytest.mark.parametrize("output_format", ["sqlite", "json"])
def test_legacy_output_memory_follows_neither_the_source_size_nor_the_chunk_size(
    tmp_path: Path, output_format: str
) -> None:
    small, large = tmp_path / "small", tmp_path / "large"
    for directory, ticks in ((small, 8_000), (large, 48_000)):
        directory.mkdir()
        make_landing(directory / "worker_0.sqlite", ticks=ticks, events=0)
    fmt = ("--output-format", output_format)

    small_source = _peak_python_bytes(small, tmp_path / "a", *fmt, "--chunk-size", "8000")
    large_source = _peak_python_bytes(large, tmp_path / "b", *fmt, "--chunk-size", "8000")
    large_chunks = _peak_python_bytes(large, tmp_path / "c", *fmt, "--chunk-size", "48000")

    # Six times the rows, or chunks six times larger: Python objects are made a few thousand rows
    # at a time, so their peak stays put (only the chunk's compact Arrow columns grow with it;
    # making the whole 48,000-row chunk's objects at once measured 42.6 MB against 7.4 MB).
    assert large_source < 1.5 * small_source
    assert large_chunks < 1.5 * small_source
