"""DuckDB I/O: read the forecast input, own the ``forecast`` tables' DDL, append a run atomically.

Every run is kept (the track record): ``forecast_runs`` has one row per run, the other tables are
keyed by ``run_id``. Runs older than ``keep_runs_days`` are deleted in the same transaction.
Column lists follow docs/contracts/warehouse.md exactly; ``forecast_skipped_series`` adds
``detail`` at the end (a readable explanation next to the reason code).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

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

INSERTS: dict[str, str] = {
    "forecast_runs": """
        select $run_id, $created_at_utc, models, settings_json, series_in_grid, series_forecast,
            series_skipped, forecast_rows
        from frame
    """,
    "forecast_prices": """
        select
            $run_id, exchange_id, symbol, to_timestamp(forecast_epoch_s), horizon_step, model,
            yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, $created_at_utc
        from frame
    """,
    "forecast_metrics": """
        select
            $run_id, exchange_id, symbol, model, mae, rmse, mape, mase, coverage_80, coverage_95,
            n_test_points, test_windows, to_timestamp(test_from_epoch_s),
            to_timestamp(test_to_epoch_s), validation_mase, validation_coverage_80,
            validation_coverage_95, n_validation_points, validation_windows,
            to_timestamp(validation_from_epoch_s), to_timestamp(validation_to_epoch_s),
            is_calibrated, is_chosen, horizon, n_train_points, $created_at_utc
        from frame
    """,
    "forecast_skipped_series": """
        select $run_id, exchange_id, symbol, reason, n_points, $created_at_utc, detail
        from frame
    """,
}
assert set(INSERTS) == set(TABLES)


class WarehouseError(RuntimeError):
    """The warehouse file or the grid cannot be used; the message says what to do."""


@dataclass(frozen=True)
class RunOutput:
    """What one run writes, a frame per table with its columns except run_id and created_at_utc
    (times as ``*_epoch_s``, converted on insert: INSERTS)."""

    run_id: str
    created_at_utc: datetime
    frames: dict[str, pd.DataFrame]


def connect(duckdb_path: Path) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse file (never create one: a typo must not yield an empty file)."""
    if not duckdb_path.is_file():
        raise WarehouseError(
            f"warehouse {duckdb_path} does not exist: run `make build` first or set DWH_DUCKDB_PATH"
        )
    try:
        return duckdb.connect(str(duckdb_path))
    except duckdb.Error as error:
        raise WarehouseError(f"cannot open warehouse {duckdb_path}: {error}") from None


def read_grid(
    connection: duckdb.DuckDBPyConnection,
    history_buckets: int,
    exchanges: tuple[str, ...] = (),
    symbols: tuple[str, ...] = (),
) -> pd.DataFrame:
    """The last ``history_buckets`` buckets of each (exchange_id, symbol) of the forecast input:
    ``usable_price`` is null where the bucket may not be trained on or scored."""
    schema, table = INPUT_TABLE.split(".")
    exists = connection.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
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
        return connection.execute(query, parameters).df()
    except duckdb.Error as error:
        raise WarehouseError(f"cannot read {INPUT_TABLE}: {error}") from None


def _column_names(ddl: str) -> list[str]:
    return [line.split()[0] for line in ddl.strip().splitlines()]


def ensure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    """Create the forecast tables; a table of an older layout (before the track record it held
    one run only) is replaced, with a warning."""
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
        if existing and existing != _column_names(ddl):
            log.warning("replacing forecast.%s: its columns are of an older layout", table)
            connection.execute(f"drop table forecast.{table}")
        connection.execute(f"create table if not exists forecast.{table} ({ddl})")


def append_run(connection: duckdb.DuckDBPyConnection, output: RunOutput, keep_days: int) -> int:
    """Add this run's rows and delete runs created over ``keep_days`` before it, in one
    transaction (all or nothing). Returns the number of runs deleted."""
    parameters = {"run_id": output.run_id, "created_at_utc": output.created_at_utc}
    oldest_kept = output.created_at_utc - timedelta(days=keep_days)
    connection.begin()
    try:
        ensure_tables(connection)
        expired = [
            row[0]
            for row in connection.execute(
                "select run_id from forecast.forecast_runs where created_at_utc < ?", [oldest_kept]
            ).fetchall()
        ]
        for table in TABLES if expired else ():
            connection.execute(
                f"delete from forecast.{table} where list_contains(?, run_id)", [expired]
            )
        for table, frame in output.frames.items():
            connection.register("frame", frame)
            try:
                connection.execute(f"insert into forecast.{table} {INSERTS[table]}", parameters)
            finally:
                connection.unregister("frame")
        connection.commit()
    except duckdb.Error as error:
        connection.rollback()
        raise WarehouseError(f"writing the forecast run failed, nothing changed: {error}") from None
    return len(expired)
