"""Source files as they come: the original system's databases, corrupt files, locked files."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from export.lake_checks import lake_keys, lake_ticks, run_export, run_metadata, source_keys
from export.landing_factory import START_US, Landing, insert_ticks, make_landing, tick_rows
from extract.collector.writer import open_landing


def test_an_original_format_database_exports_with_derived_columns(
    landing_dir: Path, lake_dir: Path
) -> None:
    original = make_landing(landing_dir / "worker_0.sqlite", ticks=600, original=True)

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    assert lake_keys(lake_dir, "market_ticks") == source_keys([original.path], "market_ticks")
    assert lake_keys(lake_dir, "connection_events") == source_keys(
        [original.path], "connection_events"
    )
    with closing(sqlite3.connect(original.path)) as connection:
        expected = {
            row[0]: row[1:]
            for row in connection.execute(
                "select id, ingestion_ts_utc, exchange_ts_ms from market_ticks"
            )
        }
    for tick in lake_ticks(lake_dir):
        row_id, exchange, received_us, exchange_ms = tick[1], tick[2], tick[4], tick[9]
        text, source_exchange_ms = expected[row_id]
        assert received_us % 1000 == 0  # from the millisecond text
        assert text.startswith(tick[15])  # date partition = UTC date of reception
        assert exchange_ms == source_exchange_ms
        assert tick[11] == ("missing" if exchange == "kraken" else "exchange")
        assert (tick[12], tick[13], tick[14]) == ("ws", None, None)  # source, worker, connection


@pytest.fixture
def healthy_and_broken(landing_dir: Path) -> tuple[list[Landing], Path]:
    healthy = [
        make_landing(landing_dir / f"worker_{index}.sqlite", ticks=500, seed=index)
        for index in (0, 2)
    ]
    corrupt = landing_dir / "worker_1.sqlite"
    corrupt.write_bytes(b"this is not a database\n" * 512)
    return healthy, corrupt


def test_a_corrupt_file_is_named_in_a_clear_error_and_the_others_still_export(
    healthy_and_broken: tuple[list[Landing], Path],
    landing_dir: Path,
    lake_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    healthy, corrupt = healthy_and_broken

    assert run_export(landing_dir, lake_dir, "--incremental") == 1

    errors = capsys.readouterr().err
    assert f"error: {corrupt}: " in errors
    assert "not a database" in errors
    paths = [landing.path for landing in healthy]
    assert lake_keys(lake_dir, "market_ticks") == source_keys(paths, "market_ticks")
    (metadata,) = run_metadata(lake_dir)
    assert [failure["file"] for failure in metadata["source"]["failed_files"]] == [str(corrupt)]
    assert str(corrupt.resolve()) not in metadata["watermarks"]["new"]["sources"]


@contextmanager
def exclusively_locked(path: Path) -> Iterator[None]:
    """A writer holding an exclusive lock on a rollback-journal database, mid-transaction."""
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("pragma journal_mode=delete")
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("begin exclusive")
    holder.execute(
        "insert into market_ticks(ingestion_ts_utc, exchange_id, symbol) "
        "values ('2026-11-18T12:00:00.000+00:00', 'binance', 'BTC/USDT')"
    )
    try:
        yield
    finally:
        holder.execute("rollback")
        holder.close()


def test_a_locked_file_is_named_in_a_clear_error_and_exports_once_released(
    landing_dir: Path, lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    healthy = make_landing(landing_dir / "worker_0.sqlite", ticks=400)
    locked = make_landing(landing_dir / "worker_1.sqlite", ticks=300, seed=1).path
    with exclusively_locked(locked):
        assert run_export(landing_dir, lake_dir, "--incremental") == 1
        errors = capsys.readouterr().err
        assert f"error: {locked}: " in errors
        assert "locked" in errors
        assert lake_keys(lake_dir, "market_ticks") == source_keys([healthy.path], "market_ticks")

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    everything = source_keys([healthy.path, locked], "market_ticks")
    assert lake_keys(lake_dir, "market_ticks") == everything
    assert len(everything) == 700


def test_a_sqlite_file_without_landing_tables_is_refused_by_name(
    landing_dir: Path, lake_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = landing_dir / "worker_9.sqlite"
    with closing(sqlite3.connect(stranger)) as connection:
        connection.execute("create table other (x integer)")

    assert run_export(landing_dir, lake_dir) == 1

    assert f"error: {stranger}: no market_ticks table" in capsys.readouterr().err


def test_stray_values_and_missing_epoch_times_are_read_without_losing_the_row(
    landing_dir: Path, lake_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=300)
    with closing(sqlite3.connect(landing.path)) as connection, connection:
        connection.execute("update market_ticks set price = 'n/a' where id = 150")
        connection.execute("update market_ticks set ingestion_ts_us = null where id in (7, 8)")
        (text_7,) = connection.execute("select ingestion_ts_utc from market_ticks where id = 7")

    assert run_export(landing_dir, lake_dir) == 0

    ticks = {tick[1]: tick for tick in lake_ticks(lake_dir)}
    assert len(ticks) == 300
    assert ticks[150][5] is None  # a non-numeric price is read as null, and flagged downstream
    assert ticks[7][4] == int(datetime.fromisoformat(text_7[0]).timestamp() * 1000) * 1000
    assert "event=mixed_value_types" in caplog.text


def test_an_unparseable_reception_time_keeps_the_row_with_a_null_time(
    landing_dir: Path, lake_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    original = make_landing(landing_dir / "worker_0.sqlite", ticks=50, original=True)
    with closing(sqlite3.connect(original.path)) as connection, connection:
        connection.execute("update market_ticks set ingestion_ts_utc = 'garbage' where id = 5")

    assert run_export(landing_dir, lake_dir) == 0

    ticks = {tick[1]: tick for tick in lake_ticks(lake_dir)}
    assert len(ticks) == 50
    assert ticks[5][4] is None
    assert ticks[5][15] == "1970-01-01"
    assert "event=unparseable_times" in caplog.text


def test_reception_times_outside_the_plausible_window_are_exported_and_warned(
    landing_dir: Path, lake_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=50)
    far_future_us = int(datetime(2099, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    before_bitcoin_us = int(datetime(2001, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
    with closing(sqlite3.connect(landing.path)) as connection, connection:
        connection.execute(
            "update market_ticks set ingestion_ts_us = ? where id in (3, 4)", (far_future_us,)
        )
        connection.execute(
            "update market_ticks set ingestion_ts_us = ? where id = 9", (before_bitcoin_us,)
        )

    assert run_export(landing_dir, lake_dir) == 0

    ticks = {tick[1]: tick for tick in lake_ticks(lake_dir)}
    assert len(ticks) == 50
    assert ticks[3][4] == far_future_us
    assert ticks[3][15] == "2099-01-01"
    warnings = [line for line in caplog.messages if "event=implausible_times" in line]
    assert len(warnings) == 1
    assert "table=market_ticks rows=3 " in warnings[0]


@pytest.mark.parametrize("output_format", ["parquet", "csv"])
def test_text_that_is_not_utf8_is_repaired_counted_and_readable(
    landing_dir: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    output_format: str,
) -> None:
    landing = make_landing(landing_dir / "worker_0.sqlite", ticks=20)
    with closing(sqlite3.connect(landing.path)) as connection, connection:
        connection.execute(
            "update market_ticks set raw_json = cast(X'7B2261223A22FF227D' as text) "
            "where id in (2, 5)"
        )
    out = tmp_path / "out"

    # Legacy formats always keep raw_json; the lake only when asked.
    raw_json_option = ["--include-raw-json"] if output_format == "parquet" else []
    assert run_export(landing_dir, out, "--output-format", output_format, *raw_json_option) == 0

    files = sorted(path for path in out.rglob(f"*.{output_format}") if "market_ticks" in str(path))
    assert files
    reader = "read_parquet" if output_format == "parquet" else "read_csv_auto"
    with duckdb.connect() as connection:
        repaired = connection.sql(
            f"select count(*) from {reader}({[str(f) for f in files]}) "
            'where raw_json = \'{"a":"\ufffd"}\''
        ).fetchall()
    assert repaired == [(2,)]
    warnings = [line for line in caplog.messages if "event=invalid_text_repaired" in line]
    assert len(warnings) == 1
    assert "table=market_ticks rows=2 " in warnings[0]


def test_an_original_database_upgraded_by_the_collector_exports_old_and_new_rows(
    landing_dir: Path, lake_dir: Path
) -> None:
    path = make_landing(landing_dir / "worker_0.sqlite", ticks=200, original=True).path
    open_landing(path).close()  # the collector's own upgrade: extended columns, old rows null
    insert_ticks(path, tick_rows(100, start_us=START_US + 10**9, seed=5))

    assert run_export(landing_dir, lake_dir, "--incremental") == 0

    with closing(sqlite3.connect(path)) as connection:
        expected = dict(connection.execute("select id, ingestion_ts_utc from market_ticks"))
    ticks = lake_ticks(lake_dir)
    assert len(ticks) == 300
    for tick in ticks:
        received = datetime.fromtimestamp(tick[4] / 1e6, tz=UTC).isoformat(timespec="milliseconds")
        assert received == expected[tick[1]]
