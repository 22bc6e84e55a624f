"""DuckDB I/O: read the cleansed grid, own the ``forecast`` tables' DDL, replace a run atomically.

Column lists follow docs/contracts/warehouse.md exactly; ``forecast_skipped_series`` adds
``detail`` at the end (a readable explanation next to the reason code).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

GRID_TABLE = "cleansing.cln_market_grid"

DDL: tuple[str, ...] = (
    "create schema if not exists forecast",
    """
    create table if not exists forecast.forecast_prices (
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
    )
    """,
    """
    create table if not exists forecast.forecast_metrics (
        run_id varchar not null,
        exchange_id varchar not null,
        symbol varchar not null,
        model varchar not null,
        mae double,
        rmse double,
        mape double,
        mase double,
        is_chosen boolean not null,
        cv_windows integer not null,
        horizon integer not null,
        n_train_points integer not null,
        created_at_utc timestamptz not null
    )
    """,
    """
    create table if not exists forecast.forecast_skipped_series (
        run_id varchar not null,
        exchange_id varchar not null,
        symbol varchar not null,
        reason varchar not null,
        n_points integer not null,
        created_at_utc timestamptz not null,
        detail varchar
    )
    """,
)

PRICES_INSERT = """
    insert into forecast.forecast_prices
    select
        $run_id, exchange_id, symbol, to_timestamp(forecast_epoch_s), horizon_step, model,
        yhat, yhat_lo_80, yhat_hi_80, yhat_lo_95, yhat_hi_95, $created_at_utc
    from prices_frame
"""
METRICS_INSERT = """
    insert into forecast.forecast_metrics
    select
        $run_id, exchange_id, symbol, model, mae, rmse, mape, mase, is_chosen,
        cv_windows, horizon, n_train_points, $created_at_utc
    from metrics_frame
"""
SKIPPED_INSERT = """
    insert into forecast.forecast_skipped_series
    select $run_id, exchange_id, symbol, reason, n_points, $created_at_utc, detail
    from skipped_frame
"""


class WarehouseError(RuntimeError):
    """The warehouse file or the grid cannot be used; the message says what to do."""


@dataclass(frozen=True)
class RunOutput:
    """What one run writes. Frames hold the table columns except run_id and created_at_utc;
    ``prices`` carries ``forecast_epoch_s`` (converted to forecast_bucket_utc on insert)."""

    run_id: str
    created_at_utc: datetime
    prices: pd.DataFrame
    metrics: pd.DataFrame
    skipped: pd.DataFrame


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
    """The last ``history_buckets`` buckets of each (exchange_id, symbol) in the grid."""
    exists = connection.execute(
        "select count(*) from information_schema.tables"
        " where table_schema = 'cleansing' and table_name = 'cln_market_grid'"
    ).fetchone()
    if not exists or not exists[0]:
        raise WarehouseError(f"{GRID_TABLE} is not in the warehouse: run `make build` first")
    filters = ["true"]
    if exchanges:
        filters.append("list_contains($exchanges, exchange_id)")
    if symbols:
        filters.append("list_contains($symbols, symbol)")
    query = f"""
        select exchange_id, symbol, bucket_epoch_s, price, bin_seconds
        from {GRID_TABLE}
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
        raise WarehouseError(f"cannot read {GRID_TABLE}: {error}") from None


def ensure_tables(connection: duckdb.DuckDBPyConnection) -> None:
    for statement in DDL:
        connection.execute(statement)


def replace_run(connection: duckdb.DuckDBPyConnection, output: RunOutput) -> None:
    """Replace every previous row with this run's, in one transaction (all or nothing)."""
    parameters = {"run_id": output.run_id, "created_at_utc": output.created_at_utc}
    connection.begin()
    try:
        ensure_tables(connection)
        for table in ("forecast_prices", "forecast_metrics", "forecast_skipped_series"):
            connection.execute(f"delete from forecast.{table}")
        connection.register("prices_frame", output.prices)
        connection.register("metrics_frame", output.metrics)
        connection.register("skipped_frame", output.skipped)
        connection.execute(PRICES_INSERT, parameters)
        connection.execute(METRICS_INSERT, parameters)
        connection.execute(SKIPPED_INSERT, parameters)
        connection.commit()
    except duckdb.Error as error:
        connection.rollback()
        raise WarehouseError(f"writing the forecast run failed, nothing changed: {error}") from None
    finally:
        for name in ("prices_frame", "metrics_frame", "skipped_frame"):
            connection.unregister(name)
