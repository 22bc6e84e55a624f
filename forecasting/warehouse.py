"""Warehouse I/O: the ``forecast`` tables' columns, the storage interface a run uses (read the
forecast input, ensure the tables, append a run), and its DuckDB implementation (the Spark one is
in spark_warehouse.py).

Every run is kept (the track record): ``forecast_runs`` has one row per run, the other tables are
keyed by ``run_id``. Runs older than ``keep_runs_days`` are deleted when a run is added (on DuckDB
in the same transaction). Column lists follow docs/contracts/warehouse.md exactly;
``forecast_skipped_series`` adds ``detail`` at the end (a readable explanation next to the
reason code).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import pandas as pd

from forecasting.config import ForecastConfig

log = logging.getLogger("forecasting")

INPUT_TABLE = "cleansing.cln_forecast_input"

TABLES: dict[str, str] = {
    "forecast_runs": """
        run_id varchar not null,
        created_at_utc timestamptz not null,
        models varchar not null,
        settings_json varchar not null,
        series_in_grid integer not null,
        series_forecast integer not null,
        series_skipped integer not null,
        forecast_rows integer not null
    """,
    "forecast_prices": """
        run_id varchar not null,
        exchange_id varchar not null,
        symbol varchar not null,
        forecast_bucket_utc timestamptz not null,
        horizon_step integer not null,
        model varchar not null,
        yhat double not null,
        yhat_lo_80 double not null,
        yhat_hi_80 double not null,
        yhat_lo_95 double not null,
        yhat_hi_95 double not null,
        created_at_utc timestamptz not null
    """,
    "forecast_metrics": """
        run_id varchar not null,
        exchange_id varchar not null,
        symbol varchar not null,
        model varchar not null,
        mae double,
        rmse double,
        mape double,
        mase double,
        coverage_80 double,
        coverage_95 double,
        n_test_points integer not null,
        test_windows integer not null,
        test_from_utc timestamptz not null,
        test_to_utc timestamptz not null,
        validation_mase double,
        validation_coverage_80 double,
        validation_coverage_95 double,
        n_validation_points integer not null,
        validation_windows integer not null,
        validation_from_utc timestamptz not null,
        validation_to_utc timestamptz not null,
        is_calibrated boolean not null,
        is_chosen boolean not null,
        horizon integer not null,
        n_train_points integer not null,
        created_at_utc timestamptz not null
    """,
    "forecast_skipped_series": """
        run_id varchar not null,
        exchange_id varchar not null,
        symbol varchar not null,
        reason varchar not null,
        n_points integer not null,
        created_at_utc timestamptz not null,
        detail varchar
    """,
}

# How a table's columns are computed from its RunOutput frame: the run's own values (query
# parameters), times from the frame's epoch seconds, else the frame column of the same name.
RUN_PARAMETERS = ("run_id", "created_at_utc")
FROM_EPOCH_S: dict[str, str] = {
    "forecast_bucket_utc": "forecast_epoch_s",
    "test_from_utc": "test_from_epoch_s",
    "test_to_utc": "test_to_epoch_s",
    "validation_from_utc": "validation_from_epoch_s",
    "validation_to_utc": "validation_to_epoch_s",
}


class WarehouseError(RuntimeError):
    """The warehouse or the grid cannot be used; the message says what to do."""


@dataclass(frozen=True)
class RunOutput:
    """What one run writes, a frame per table with its columns except run_id and created_at_utc
    (times as ``*_epoch_s``, converted on insert: FROM_EPOCH_S)."""

    run_id: str
    created_at_utc: datetime
    frames: dict[str, pd.DataFrame]


class Warehouse(Protocol):
    """Where a run reads its input and adds its rows: ``DuckDBWarehouse`` (the default target) or
    ``spark_warehouse.SparkWarehouse`` (``--target spark``). Every method raises WarehouseError."""

    location: str  # for the log

    def read_grid(
        self, history_buckets: int, exchanges: tuple[str, ...], symbols: tuple[str, ...]
    ) -> pd.DataFrame:
        """The last ``history_buckets`` buckets of each (exchange_id, symbol) of the forecast
        input, ordered: ``usable_price`` is null where the bucket may not be trained on or
        scored."""
        ...

    def ensure_tables(self) -> None:
        """Create the forecast tables if missing (a table of an older layout is replaced)."""
        ...

    def append_run(self, output: RunOutput, keep_days: int) -> int:
        """Add this run's rows and delete the runs created over ``keep_days`` before it; a
        failure leaves the runs kept before intact. Returns the number of runs deleted."""
        ...

    def close(self) -> None: ...


def open_warehouse(config: ForecastConfig) -> Warehouse:
    """The warehouse of ``config.target``."""
    if config.target == "spark":
        try:  # pyspark and dbt's profile renderer load only for this target
            from forecasting.spark_warehouse import SparkWarehouse
        except ImportError as error:
            raise WarehouseError(
                f"--target spark needs the spark dependency group ({error}): run `make setup`"
            ) from None
        return SparkWarehouse.open()
    return DuckDBWarehouse(config.duckdb_path)


def columns(table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of a forecast table, in order."""
    parsed = [line.strip().rstrip(",").split() for line in TABLES[table].strip().splitlines()]
    return [(words[0], words[1]) for words in parsed]


def select_list(
    table: str,
    parameter: Callable[[str], str],
    from_epoch_s: Callable[[str], str],
    leave_out: tuple[str, ...] = (),
) -> str:
    """The expressions computing a table's columns from its RunOutput frame, in the engine's SQL:
    ``parameter(name)`` refers to a query parameter, ``from_epoch_s(column)`` converts seconds."""
    expressions = []
    for name, _ in columns(table):
        if name in leave_out:
            continue
        if name in RUN_PARAMETERS:
            expressions.append(parameter(name))
        elif name in FROM_EPOCH_S:
            expressions.append(from_epoch_s(FROM_EPOCH_S[name]))
        else:
            expressions.append(name)
    return ", ".join(expressions)


def ensure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the forecast tables in a DuckDB warehouse; a table of an older layout (before the
    track record it held one run only) is replaced, with a warning."""
    connection.execute("create schema if not exists forecast")
    for table, ddl in TABLES.items():
        existing = [
            row[0]
            for row in connection.execute(
                "select column_name from information_schema.columns"
                " where table_schema = 'forecast' and table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
        ]
        if existing and existing != [name for name, _ in columns(table)]:
            log.warning("replacing forecast.%s: its columns are of an older layout", table)
            connection.execute(f"drop table forecast.{table}")
        connection.execute(f"create table if not exists forecast.{table} ({ddl})")


class DuckDBWarehouse:
    """The DuckDB file dbt builds (``--duckdb-path``): a run is added in one transaction."""

    def __init__(self, duckdb_path: Path) -> None:
        """Open an existing warehouse file (never create one: a typo must not yield an empty
        file)."""
        if not duckdb_path.is_file():
            raise WarehouseError(
                f"warehouse {duckdb_path} does not exist: run `make build` first or set"
                " DWH_DUCKDB_PATH"
            )
        try:
            self._connection = duckdb.connect(str(duckdb_path))
        except duckdb.Error as error:
            raise WarehouseError(f"cannot open warehouse {duckdb_path}: {error}") from None
        self.location = str(duckdb_path)

    def read_grid(
        self, history_buckets: int, exchanges: tuple[str, ...], symbols: tuple[str, ...]
    ) -> pd.DataFrame:
        schema, table = INPUT_TABLE.split(".")
        exists = self._connection.execute(
            "select count(*) from information_schema.tables"
            " where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()
        if not exists or not exists[0]:
            raise WarehouseError(f"{INPUT_TABLE} is not in the warehouse: run `make build` first")
        filters = ["true"]
        if exchanges:
            filters.append("list_contains($exchanges, exchange_id)")
        if symbols:
            filters.append("list_contains($symbols, symbol)")
        query = f"""
            select exchange_id, symbol, bucket_epoch_s, usable_price, bin_seconds
            from {INPUT_TABLE}
            where {" and ".join(filters)}
            qualify bucket_epoch_s
                > max(bucket_epoch_s) over (partition by exchange_id, symbol)
                - $history_buckets * bin_seconds
            order by exchange_id, symbol, bucket_epoch_s
        """
        parameters: dict[str, object] = {"history_buckets": history_buckets}
        if exchanges:
            parameters["exchanges"] = list(exchanges)
        if symbols:
            parameters["symbols"] = list(symbols)
        try:
            return self._connection.execute(query, parameters).df()
        except duckdb.Error as error:
            raise WarehouseError(f"cannot read {INPUT_TABLE}: {error}") from None

    def ensure_tables(self) -> None:
        ensure_tables(self._connection)

    def append_run(self, output: RunOutput, keep_days: int) -> int:
        """Delete the expired runs and add this one in one transaction (all or nothing)."""
        connection = self._connection
        parameters = {"run_id": output.run_id, "created_at_utc": output.created_at_utc}
        oldest_kept = output.created_at_utc - timedelta(days=keep_days)
        connection.begin()
        try:
            ensure_tables(connection)
            expired = [
                row[0]
                for row in connection.execute(
                    "select run_id from forecast.forecast_runs where created_at_utc < ?",
                    [oldest_kept],
                ).fetchall()
            ]
            for table in TABLES if expired else ():
                connection.execute(
                    f"delete from forecast.{table} where list_contains(?, run_id)", [expired]
                )
            for table, frame in output.frames.items():
                expressions = select_list(
                    table, lambda name: f"${name}", lambda column: f"to_timestamp({column})"
                )
                connection.register("frame", frame)
                try:
                    connection.execute(
                        f"insert into forecast.{table} select {expressions} from frame",
                        parameters,
                    )
                finally:
                    connection.unregister("frame")
            connection.commit()
        except duckdb.Error as error:
            connection.rollback()
            raise WarehouseError(
                f"writing the forecast run failed, nothing changed: {error}"
            ) from None
        return len(expired)

    def close(self) -> None:
        self._connection.close()
