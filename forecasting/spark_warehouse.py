"""Spark I/O (``--target spark``): the session of dbt's ``spark`` target, and the forecast tables
as Parquet tables of the Spark warehouse dbt builds.

The session settings are defined once, in dbt_project/profiles.yml: the ``spark`` output's
``server_side_parameters`` are rendered by dbt's own profile renderer (``env_var()`` with the same
defaults and environment dbt uses) and the session is built as dbt-spark's ``session`` method
builds it (Hive support, then every parameter), so the forecaster and dbt share the warehouse
directory, the Derby metastore beside it and the UTC session time zone.

Parquet tables cannot DELETE and a Spark write is no transaction, so every forecast table is
partitioned by ``run_id`` (Spark lists a partition column last; the columns and types are the
DuckDB ones otherwise: varchar -> string, timestamptz -> timestamp in the UTC session zone,
integer -> int). A run is added as new partitions, by inserts into its own static partition that
touch no other one, and an expired run is removed by dropping its partitions (the metastore entry
and that partition's directory). Its ``forecast_runs`` row is written last and dropped last, so
it marks a complete run: a process that dies midway never touches the runs kept before; the
partitions of a run that died while writing (no ``forecast_runs`` row) are dropped by the next
run before it writes, and a prune that died midway is redone by the next run (``forecast_runs``
still lists the run). Partitions by day were not chosen: pruning part of a day would rewrite
(delete, then write again) the kept runs of that day, which a crash in between loses.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
import pyarrow as pa
import yaml
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import SparkSession, Window
from pyspark.sql import functions as F

from forecasting.warehouse import (
    INPUT_TABLE,
    TABLES,
    RunOutput,
    WarehouseError,
    columns,
    select_list,
)

log = logging.getLogger("forecasting")

PROFILES_FILE = Path(__file__).resolve().parent.parent / "dbt_project" / "profiles.yml"
PROFILE = "crypto_warehouse"  # dbt_project.yml's profile
TARGET = "spark"
SPARK_TYPES = {
    "varchar": "string",
    "timestamptz": "timestamp",
    "integer": "int",
    "double": "double",
    "boolean": "boolean",
}
# children first, the run's own row last: a forecast_runs row means the run's rows are complete
WRITE_ORDER = (*(table for table in TABLES if table != "forecast_runs"), "forecast_runs")
SPARK_ERRORS = (PySparkException, Py4JError)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def profile_parameters(profiles_file: Path = PROFILES_FILE) -> dict[str, str]:
    """The ``spark`` output's ``server_side_parameters``, rendered as dbt renders its profile."""
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import CompilationError

    try:
        profiles = yaml.safe_load(profiles_file.read_text(encoding="utf-8"))
        output = profiles[PROFILE]["outputs"][TARGET]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
        raise WarehouseError(
            f"cannot read the {TARGET} output of profile {PROFILE} in {profiles_file}: {error!r}"
        ) from None
    set_invocation_context(os.environ)  # dbt's env_var() reads the environment from here
    try:
        rendered = ProfileRenderer({}).render_data(output)
    except CompilationError as error:
        raise WarehouseError(f"cannot render {profiles_file}: {_first_line(error)}") from None
    return {str(name): str(value) for name, value in rendered["server_side_parameters"].items()}


def java_problem() -> str | None:
    """Why Spark cannot start here (no working ``java``), or None."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
    if not java or not Path(java).is_file():
        where = (
            f"JAVA_HOME={java_home} has no bin/java"
            if java_home
            else "no java on PATH and JAVA_HOME is not set"
        )
        return (
            f"no Java runtime ({where}): Spark (pyspark 4) needs Java 17 or 21; install a JDK"
            " (e.g. apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
        )
    try:
        subprocess.run([java, "-version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as error:
        return f"{java} -version failed: {error}"
    return None


def start_session(parameters: Mapping[str, str]) -> SparkSession:
    """A session built as dbt-spark's ``session`` method builds it: Hive support, then every
    server-side parameter (one session per process: the JVM keeps its first warehouse)."""
    problem = java_problem()
    if problem is not None:
        raise WarehouseError(f"--target spark runs Spark, which needs Java 17 or 21: {problem}")
    builder = SparkSession.builder.enableHiveSupport()
    for name, value in parameters.items():
        builder = builder.config(name, value)
    try:
        return builder.getOrCreate()
    except SPARK_ERRORS as error:
        raise WarehouseError(f"cannot start Spark: {_first_line(error)}") from None


def _literal(text: str) -> str:
    """A Spark SQL string literal (partition specs take no parameters)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SparkWarehouse:
    """The Spark warehouse of dbt's ``spark`` target."""

    def __init__(self, session: SparkSession, location: str) -> None:
        self._session = session
        self.location = location

    @classmethod
    def open(cls, parameters: Mapping[str, str] | None = None) -> SparkWarehouse:
        """Start the session on an existing warehouse (never create one: a typo in
        DWH_SPARK_WAREHOUSE must not yield an empty warehouse)."""
        parameters = profile_parameters() if parameters is None else parameters
        warehouse_dir = Path(parameters["spark.sql.warehouse.dir"])
        if not warehouse_dir.is_dir():
            raise WarehouseError(
                f"Spark warehouse {warehouse_dir} does not exist: run `dbt build --target spark`"
                " first or set DWH_SPARK_WAREHOUSE"
            )
        return cls(start_session(parameters), f"spark:{warehouse_dir}")

    def read_grid(
        self, history_buckets: int, exchanges: tuple[str, ...], symbols: tuple[str, ...]
    ) -> pd.DataFrame:
        try:
            if not self._session.catalog.tableExists(INPUT_TABLE):
                raise WarehouseError(
                    f"{INPUT_TABLE} is not in the Spark warehouse: run `dbt build --target spark`"
                    " first"
                )
            grid = self._session.table(INPUT_TABLE).select(
                "exchange_id", "symbol", "bucket_epoch_s", "usable_price", "bin_seconds"
            )
            if exchanges:
                grid = grid.where(F.col("exchange_id").isin(list(exchanges)))
            if symbols:
                grid = grid.where(F.col("symbol").isin(list(symbols)))
            newest = F.max("bucket_epoch_s").over(Window.partitionBy("exchange_id", "symbol"))
            recent = (
                grid.withColumn("newest_epoch_s", newest)
                .where(
                    F.col("bucket_epoch_s")
                    > F.col("newest_epoch_s") - history_buckets * F.col("bin_seconds")
                )
                .drop("newest_epoch_s")
                .orderBy("exchange_id", "symbol", "bucket_epoch_s")
            )
            rows: pd.DataFrame = recent.toArrow().to_pandas()  # nulls -> NaN, as DuckDB's .df()
            return rows
        except SPARK_ERRORS as error:
            raise WarehouseError(f"cannot read {INPUT_TABLE}: {_first_line(error)}") from None

    def ensure_tables(self) -> None:
        try:
            self._ensure_tables()
        except SPARK_ERRORS as error:
            raise WarehouseError(
                f"cannot create the forecast tables: {_first_line(error)}"
            ) from None

    def _ensure_tables(self) -> None:
        self._session.sql("create database if not exists forecast")
        for table in TABLES:
            names = [name for name, _ in columns(table)]
            if self._session.catalog.tableExists(f"forecast.{table}"):
                existing = self._session.table(f"forecast.{table}").columns
                if existing == [name for name in names if name != "run_id"] + ["run_id"]:
                    continue
                log.warning("replacing forecast.%s: its columns are of an older layout", table)
                self._session.sql(f"drop table forecast.{table}")
            typed = ", ".join(f"{name} {SPARK_TYPES[kind]}" for name, kind in columns(table))
            self._session.sql(
                f"create table forecast.{table} ({typed}) using parquet partitioned by (run_id)"
            )

    def append_run(self, output: RunOutput, keep_days: int) -> int:
        """Drop what a dead run left, add this run's partitions (its forecast_runs row last), then
        drop the partitions of the runs created over ``keep_days`` before it."""
        oldest_kept = output.created_at_utc - timedelta(days=keep_days)
        try:
            self._ensure_tables()
            self._drop_runs(self._unfinished_runs())
            for table in WRITE_ORDER:
                self._insert(table, output)
            expired = [
                str(row["run_id"])
                for row in self._session.sql(
                    "select run_id from forecast.forecast_runs where created_at_utc < :oldest_kept",
                    args={"oldest_kept": oldest_kept},
                ).collect()
            ]
            self._drop_runs(expired)
        except SPARK_ERRORS as error:
            raise WarehouseError(
                f"writing the forecast run failed: {_first_line(error)} (the runs kept before are"
                " unchanged; the next run drops what this one wrote)"
            ) from None
        return len(expired)

    def _insert(self, table: str, output: RunOutput) -> None:
        frame = pa.Table.from_pandas(output.frames[table], preserve_index=False)
        self._session.createDataFrame(frame).createOrReplaceTempView("frame")
        expressions = select_list(
            table,
            lambda name: f":{name}",
            lambda column: f"timestamp_seconds({column})",
            leave_out=("run_id",),
        )
        self._session.sql(
            f"insert into forecast.{table} partition (run_id = {_literal(output.run_id)})"
            f" select {expressions} from frame",
            args={"created_at_utc": output.created_at_utc},
        )

    def _unfinished_runs(self) -> set[str]:
        """Runs with partitions but no forecast_runs row: written by a process that died."""
        finished = {
            str(row["run_id"])
            for row in self._session.table("forecast.forecast_runs").select("run_id").collect()
        }
        partitions = {
            unquote(str(row["partition"]).removeprefix("run_id="))
            for table in WRITE_ORDER
            for row in self._session.sql(f"show partitions forecast.{table}").collect()
        }
        return partitions - finished

    def _drop_runs(self, run_ids: set[str] | list[str]) -> None:
        if not run_ids:
            return
        specs = ", ".join(f"partition (run_id = {_literal(run_id)})" for run_id in sorted(run_ids))
        for table in WRITE_ORDER:
            self._session.sql(f"alter table forecast.{table} drop if exists {specs}")

    def close(self) -> None:
        self._session.stop()
