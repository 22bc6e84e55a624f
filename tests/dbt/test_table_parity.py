"""The DuckDB/Spark comparison of tests/fixtures/table_parity.py catches what it must (issue 16).

So that the parity tests cannot pass vacuously: a float beyond 1e-9 relative, a missing row, an
extra column and a timestamp one microsecond off are each reported, naming the model, the column
and the rows; a 1e-12 relative float difference, NaN against NaN and null against null are not.
The Spark side is read the way the parity tests read it: Parquet files in Spark's layout, an
incremental model's hour in URL-encoded directory names.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.fixtures.spark_warehouse import (
    SparkUnavailableError,
    build_spark_warehouse,
    java_problem,
)
from tests.fixtures.table_parity import (
    SparkRelation,
    Table,
    compare_tables,
    floats_equal,
    read_duckdb_table,
    read_spark_table,
    unique_keys,
    utc_connection,
)

HOUR = datetime(2026, 3, 1, 10, tzinfo=UTC)
COLUMNS = ("kpi_hour_utc", "exchange_id", "last_tick_utc", "price_mean", "tick_count")
TYPES = ("TIMESTAMP WITH TIME ZONE", "VARCHAR", "TIMESTAMP WITH TIME ZONE", "DOUBLE", "BIGINT")


def table(rows: list[tuple[object, ...]], columns: tuple[str, ...] = COLUMNS) -> Table:
    types = tuple(TYPES[COLUMNS.index(c)] if c in COLUMNS else "VARCHAR" for c in columns)
    return Table(columns=columns, types=types, rows=rows)


def base_rows() -> list[tuple[object, ...]]:
    return [
        (HOUR, "binance", HOUR + timedelta(minutes=59, microseconds=250), 101.25, 12),
        (HOUR, "kraken", HOUR + timedelta(minutes=58), 100.5, 7),
        (HOUR + timedelta(hours=1), "binance", HOUR + timedelta(hours=1, seconds=5), 0.1, 1),
        (HOUR + timedelta(hours=1), "okx", None, float("nan"), 0),
        (HOUR + timedelta(hours=2), "okx", None, None, 0),
    ]


def with_cell(rows: list[tuple[object, ...]], row: int, column: str, value: object) -> list:
    changed = list(rows)
    cells = list(changed[row])
    cells[COLUMNS.index(column)] = value
    changed[row] = tuple(cells)
    return changed


def test_identical_tables_agree_in_any_row_order() -> None:
    report = compare_tables("core.fct_x", table(base_rows()), table(base_rows()[::-1]))
    assert report.ok, report.message()


def test_a_float_within_1e_12_relative_agrees() -> None:
    spark = with_cell(base_rows(), 0, "price_mean", 101.25 * (1 + 1e-12))
    spark = with_cell(spark, 2, "price_mean", 0.1 * (1 - 1e-12))
    assert spark[0][3] != 101.25
    report = compare_tables("core.fct_x", table(base_rows()), table(spark))
    assert report.ok, report.message()


@pytest.mark.parametrize("key", [None, ("kpi_hour_utc", "exchange_id")])
def test_a_float_beyond_1e_9_relative_is_reported_with_its_row(
    key: tuple[str, ...] | None,
) -> None:
    spark = with_cell(base_rows(), 1, "price_mean", 100.5 * (1 + 1e-8))
    report = compare_tables("core.fct_x", table(base_rows()), table(spark), key=key)
    assert not report.ok
    message = report.message()
    assert "core.fct_x" in message
    assert "price_mean (1 rows)" in message
    assert "'kraken'" in message
    assert "duckdb: {" in message
    assert "spark:  {" in message
    assert "*price_mean=100.5," in message
    assert f"*price_mean={100.5 * (1 + 1e-8)!r}" in message


def test_nan_null_and_numbers_are_told_apart() -> None:
    nan_for_null = with_cell(base_rows(), 4, "price_mean", float("nan"))
    report = compare_tables("core.fct_x", table(base_rows()), table(nan_for_null))
    assert report.differing_columns == {"price_mean": 1}
    zero_for_null = with_cell(base_rows(), 4, "price_mean", 0.0)
    assert not compare_tables("core.fct_x", table(base_rows()), table(zero_for_null)).ok
    assert floats_equal(float("nan"), float("nan"), 1e-9)
    assert floats_equal(None, None, 1e-9)
    assert not floats_equal(None, 0.0, 1e-9)
    assert not floats_equal(math.inf, 1e308, 1e-9)
    assert floats_equal(0.0, -0.0, 1e-9)


def test_a_missing_row_is_reported() -> None:
    report = compare_tables("marts.mart_x", table(base_rows()), table(base_rows()[1:]))
    assert not report.ok
    message = report.message()
    assert "row counts differ: DuckDB 5, Spark 4" in message
    assert "rows only in DuckDB (1):" in message
    assert "exchange_id='binance'" in message.split("rows only in DuckDB")[1]
    assert "rows only in Spark" not in message


def test_an_extra_row_with_the_same_key_is_reported() -> None:
    spark = [*base_rows(), base_rows()[0]]
    report = compare_tables("core.fct_x", table(base_rows()), table(spark))
    assert report.only_spark == [tuple(base_rows()[0])]
    assert "rows only in Spark (1):" in report.message()


def test_an_extra_column_is_reported() -> None:
    spark_columns = (*COLUMNS, "spread_bps")
    spark = [(*row, "1.0") for row in base_rows()]
    report = compare_tables("core.fct_x", table(base_rows()), table(spark, spark_columns))
    assert not report.ok
    assert "only in DuckDB [], only in Spark ['spread_bps']" in report.message()


def test_build_time_columns_are_ignored() -> None:
    later = HOUR + timedelta(days=1)
    duckdb_rows = [(*row, HOUR, "run-a", HOUR) for row in base_rows()]
    spark_rows = [(*row, later, "run-b", later) for row in base_rows()]
    columns = (*COLUMNS, "built_at_utc", "invocation_id", "run_started_at_utc")
    report = compare_tables("core.fct_x", table(duckdb_rows, columns), table(spark_rows, columns))
    assert report.ok, report.message()
    # Matched on its unique key (invocation_id, ignored): the other columns identify the row.
    report = compare_tables(
        "core.fct_x", table(duckdb_rows, columns), table(spark_rows, columns), key=["invocation_id"]
    )
    assert report.ok, report.message()


@pytest.mark.parametrize("key", [None, ("kpi_hour_utc", "exchange_id")])
def test_a_timestamp_one_microsecond_off_is_reported(key: tuple[str, ...] | None) -> None:
    moment = base_rows()[1][2]
    assert isinstance(moment, datetime)
    spark = with_cell(base_rows(), 1, "last_tick_utc", moment + timedelta(microseconds=1))
    report = compare_tables("core.fct_x", table(base_rows()), table(spark), key=key)
    assert not report.ok
    message = report.message()
    if key is None:  # the timestamp is part of the row's identity: one row on each side
        assert "rows only in DuckDB (1)" in message
        assert "rows only in Spark (1)" in message
    else:  # matched on the unique key: the column is named
        assert report.differing_columns == {"last_tick_utc": 1}
        assert "differs in last_tick_utc" in message
    assert "10:58:00.000001" in message


def test_a_spark_timestamp_without_zone_is_the_same_utc_instant() -> None:
    naive = [
        tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)
        for row in base_rows()
    ]
    assert compare_tables("core.fct_x", table(base_rows()), table(naive)).ok


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB warehouse with core.fct_x, and the same rows in Spark's Parquet layout."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(
            "create schema core; create table core.fct_x (kpi_hour_utc timestamptz,"
            " exchange_id varchar, last_tick_utc timestamptz, price_mean double,"
            " tick_count bigint)"
        )
        connection.executemany("insert into core.fct_x values (?, ?, ?, ?, ?)", base_rows())
        for hour in {row[0] for row in base_rows()}:
            assert isinstance(hour, datetime)
            # Spark's partition directory: the hour in the session time zone, ':' URL-encoded.
            directory = (
                tmp_path
                / "core.db"
                / "fct_x"
                / ("kpi_hour_utc=" + hour.strftime("%Y-%m-%d %H:%M:%S").replace(":", "%3A"))
            )
            directory.mkdir(parents=True)
            connection.execute(
                "copy (select * exclude (kpi_hour_utc) from core.fct_x where kpi_hour_utc = ?)"
                f" to '{directory / 'part-00000.snappy.parquet'}' (format parquet)",
                [hour],
            )
    connection = utc_connection(path)
    yield connection
    connection.close()


SPARK_COLUMNS = (
    ("exchange_id", "string"),
    ("last_tick_utc", "timestamp"),
    ("price_mean", "double"),
    ("tick_count", "bigint"),
    ("kpi_hour_utc", "timestamp"),
)


def test_partitioned_parquet_reads_back_as_the_duckdb_table(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    relation = SparkRelation(
        "core.fct_x", "table", tmp_path / "core.db" / "fct_x", SPARK_COLUMNS, ("kpi_hour_utc",)
    )
    duckdb_table = read_duckdb_table(warehouse, "core.fct_x")
    spark_table = read_spark_table(
        warehouse, relation, dict(zip(duckdb_table.columns, duckdb_table.types, strict=True))
    )
    assert spark_table.type_of("kpi_hour_utc") == "TIMESTAMP WITH TIME ZONE"
    assert {row[-1] for row in spark_table.rows} == {row[0] for row in base_rows()}
    report = compare_tables("core.fct_x", duckdb_table, spark_table)
    assert report.ok, report.message()
    # Read without the DuckDB types, the hour stays text, and the comparison says so.
    untyped = read_spark_table(warehouse, relation)
    assert not compare_tables("core.fct_x", duckdb_table, untyped).ok


def test_a_table_without_files_reads_as_no_rows(
    warehouse: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    relation = SparkRelation("core.fct_y", "table", tmp_path / "core.db" / "fct_y", SPARK_COLUMNS)
    empty = read_spark_table(warehouse, relation)
    assert empty.rows == []
    report = compare_tables("core.fct_x", read_duckdb_table(warehouse, "core.fct_x"), empty)
    assert "rows only in DuckDB (5)" in report.message()


def test_unique_keys_come_from_the_models_yaml_tests(tmp_path: Path) -> None:
    def test_node(name: str, model: str, **kwargs: object) -> dict[str, object]:
        return {
            "resource_type": "test",
            "attached_node": f"model.crypto_warehouse.{model}",
            "test_metadata": {"name": name, "kwargs": kwargs},
        }

    nodes = {
        "a": test_node("unique", "dim_exchange", column_name="exchange_id"),
        "b": test_node("not_null", "dim_exchange", column_name="exchange_id"),
        "c": test_node("unique", "fct_x", column_name="row_id"),
        "d": test_node(
            "unique_combination_of_columns",
            "fct_x",
            combination_of_columns=["kpi_hour_utc", "exchange_id"],
        ),
        "e": {"resource_type": "model"},
    }
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"nodes": nodes}))
    assert unique_keys(manifest) == {
        "dim_exchange": ("exchange_id",),
        "fct_x": ("kpi_hour_utc", "exchange_id"),
    }


def test_without_java_the_spark_build_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    problem = java_problem()
    assert problem is not None
    assert "no Java runtime" in problem
    with pytest.raises(SparkUnavailableError, match="needs Java 17 or 21"):
        build_spark_warehouse(tmp_path / "lake", tmp_path / "spark")
    assert not (tmp_path / "spark").exists()
