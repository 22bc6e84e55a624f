"""``python -m forecasting --target spark`` against a real Spark warehouse in a temporary directory.

Spark runs only in subprocesses (a JVM keeps the first warehouse it opens): one seeds the input
and earlier runs (spark_seed.py), then each forecast is its own process; the written tables are
read back as the Parquet files they are, with DuckDB.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from forecasting.cli import main
from forecasting.config import ConfigError, load_config
from forecasting.spark_warehouse import profile_parameters
from forecasting.warehouse import TABLES, ensure_tables
from tests.conftest import REPO_ROOT
from tests.forecasting.spark_seed import DEAD_RUN, EXPIRED_RUN, SERIES

FAST = [
    "--horizon", "12", "--cv-step", "12", "--validation-windows", "1", "--test-windows", "1",
    "--season-length", "30", "--window-size", "12", "--min-train-points", "60",
    "--conformal-windows", "2", "--n-jobs", "1",
]  # fmt: skip
SUBPROCESS_SECONDS = 420  # a JVM start takes 10-60 s on a busy 2-core machine


def test_the_session_settings_are_the_dbt_profiles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DWH_SPARK_WAREHOUSE", "/srv/spark-wh")
    monkeypatch.delenv("DWH_SPARK_MASTER", raising=False)
    parameters = profile_parameters()
    assert parameters["spark.master"] == "local[2]"  # the profile's default
    assert parameters["spark.sql.warehouse.dir"] == "/srv/spark-wh"
    assert parameters["spark.hadoop.javax.jdo.option.ConnectionURL"] == (
        "jdbc:derby:;databaseName=/srv/spark-wh/metastore_db;create=true"
    )
    assert parameters["spark.sql.session.timeZone"] == "UTC"


def test_the_target_is_a_setting_like_the_others() -> None:
    assert load_config({}, {}).target == "duckdb"
    assert load_config({}, {"FORECAST_TARGET": "spark"}).target == "spark"
    assert load_config({"target": "duckdb"}, {"FORECAST_TARGET": "spark"}).target == "duckdb"
    with pytest.raises(
        ConfigError, match="target='trino' is invalid: must be one of duckdb, spark"
    ):
        load_config({"target": "trino"}, {})


def test_a_missing_spark_warehouse_or_java_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("DWH_SPARK_WAREHOUSE", str(missing))
    assert main(["--target", "spark"]) == 1
    assert "Spark warehouse" in capsys.readouterr().err
    assert not missing.exists()

    monkeypatch.setenv("DWH_SPARK_WAREHOUSE", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    assert main(["--target", "spark"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: --target spark runs Spark, which needs Java 17 or 21")
    assert error.count("\n") == 1


def _spark_env(warehouse_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DWH_SPARK_WAREHOUSE": str(warehouse_dir),
        "DWH_SPARK_MASTER": "local[1]",
        "DWH_SPARK_DRIVER_MEMORY": "1g",
        "SPARK_LOCAL_IP": "127.0.0.1",
    }


def _run(args: list[str], warehouse_dir: Path) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=_spark_env(warehouse_dir),
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_SECONDS,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def _parquet(warehouse_dir: Path, table: str) -> str:
    return (
        f"read_parquet('{warehouse_dir}/forecast.db/{table}/*/*.parquet', hive_partitioning=true)"
    )


def _rows(warehouse_dir: Path, sql: str) -> list[tuple[object, ...]]:
    for table in TABLES:
        sql = sql.replace(f"forecast.{table}", _parquet(warehouse_dir, table))
    with duckdb.connect() as connection:
        return connection.execute(sql).fetchall()


def _duckdb_columns() -> dict[str, list[tuple[str, str]]]:
    """Each forecast table's (column, type) as the DuckDB target creates it."""
    with duckdb.connect() as connection:
        ensure_tables(connection)
        return {
            table: [
                (row[0], row[1])
                for row in connection.execute(f"describe forecast.{table}").fetchall()
            ]
            for table in TABLES
        }


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.timeout(4 * SUBPROCESS_SECONDS)
def test_runs_are_added_to_parquet_tables_of_the_spark_warehouse(tmp_path: Path) -> None:
    warehouse_dir = tmp_path / "spark"
    warehouse_dir.mkdir()
    _run(["-m", "tests.forecasting.spark_seed"], warehouse_dir)

    first = _run(["-m", "forecasting", "--target", "spark", *FAST], warehouse_dir)
    assert "series=4 forecast=2 skipped=2 forecast_rows=96 metric_rows=8" in first
    for table, duckdb_columns in _duckdb_columns().items():
        with duckdb.connect() as connection:
            described = connection.execute(
                f"describe select * from {_parquet(warehouse_dir, table)}"
            )
            written = [(row[0], row[1]) for row in described.fetchall()]
        # the DuckDB columns and types; Spark lists the partition column run_id last
        assert written == [column for column in duckdb_columns if column[0] != "run_id"] + [
            ("run_id", "VARCHAR")
        ]
    (first_run,) = _rows(warehouse_dir, "select run_id from forecast.forecast_runs")
    for table in ("forecast_prices", "forecast_metrics", "forecast_skipped_series"):
        assert _rows(warehouse_dir, f"select distinct run_id from forecast.{table}") == [first_run]
    for run_id in (EXPIRED_RUN, DEAD_RUN):  # dropped: the expired run, and the dead one's rows
        assert not (warehouse_dir / "forecast.db" / "forecast_prices" / f"run_id={run_id}").exists()

    (created,) = _rows(
        warehouse_dir,
        "select count(*) from forecast.forecast_runs"
        " where created_at_utc between now() - interval 1 hour and now()",
    )
    assert created == (1,)
    last_bucket_s = max(s.start_epoch_s + s.bin_seconds * (len(s.prices) - 1) for s in SERIES)
    (offsets,) = _rows(
        warehouse_dir,
        f"select min(epoch(forecast_bucket_utc) - {last_bucket_s} - 60 * horizon_step),"
        f" max(epoch(forecast_bucket_utc) - {last_bucket_s} - 60 * horizon_step)"
        " from forecast.forecast_prices",
    )
    assert offsets == (0, 0)
    assert _rows(
        warehouse_dir,
        "select exchange_id, symbol, count(*), count(mase), count_if(is_chosen)"
        " from forecast.forecast_metrics group by all order by all",
    ) == [("binance", "BTC/USDT", 4, 4, 1), ("binance", "ETH/USDT", 4, 4, 1)]
    assert _rows(
        warehouse_dir,
        "select exchange_id, symbol, reason, n_points, detail is not null"
        " from forecast.forecast_skipped_series order by all",
    ) == [("kraken", "ETH/USD", "constant", 240, True), ("okx", "BTC/USDT", "too_short", 30, True)]

    second = _run(
        ["-m", "forecasting", "--target", "spark", *FAST, "--models", "none"], warehouse_dir
    )
    assert "forecast=2 skipped=2 forecast_rows=72" in second
    runs = _rows(
        warehouse_dir,
        "select run_id, models, forecast_rows from forecast.forecast_runs"
        " order by created_at_utc, run_id",
    )
    assert runs == [
        (first_run[0], "Naive,SeasonalNaive,WindowAverage,AutoETS", 96),
        (runs[1][0], "Naive,SeasonalNaive,WindowAverage", 72),
    ]
    assert _rows(
        warehouse_dir,
        "select run_id, count(*) from forecast.forecast_prices group by all order by all",
    ) == [(first_run[0], 96), (runs[1][0], 72)]
