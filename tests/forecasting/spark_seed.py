"""``python -m tests.forecasting.spark_seed``, in a process of its own (a JVM keeps the first
warehouse it opens): writes a small forecast input into the Spark warehouse at
DWH_SPARK_WAREHOUSE, as dbt's cln_forecast_input, and the rows of two earlier runs: an expired
one (created long before keep_runs_days) and one that died while writing (rows without a
forecast_runs row)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from forecasting.spark_warehouse import SparkWarehouse, profile_parameters, start_session
from tests.forecasting.forecast_grid_factory import GridSeries, grid_frame, random_walk, trending

SERIES = [
    GridSeries("binance", "BTC/USDT", random_walk(240, seed=1, start=60_000.0, step_sd=20.0)),
    GridSeries("binance", "ETH/USDT", trending(240, seed=2)),
    GridSeries("kraken", "ETH/USD", np.full(240, 3000.0)),
    GridSeries("okx", "BTC/USDT", random_walk(30, seed=4)),
]
EXPIRED_RUN = "20260101T000000Z-expired0"
DEAD_RUN = "20260102T000000Z-diedhalf"

EARLIER_RUNS = [
    f"""insert into forecast.forecast_runs partition (run_id = '{EXPIRED_RUN}')
        select timestamp'2026-01-01 00:00:00', 'Naive', '{{}}', 1, 1, 0, 1""",
    *(
        f"""insert into forecast.forecast_prices partition (run_id = '{run_id}')
            select 'binance', 'BTC/USDT', timestamp'2026-01-01 00:01:00', 1, 'Naive', 1.0, 1.0,
                1.0, 1.0, 1.0, timestamp'2026-01-01 00:00:00'"""
        for run_id in (EXPIRED_RUN, DEAD_RUN)
    ),
]


def main() -> None:
    parameters = profile_parameters()
    session = start_session(parameters)
    try:
        session.sql("create database if not exists cleansing")
        grid = session.createDataFrame(pa.Table.from_pandas(grid_frame(SERIES)))
        grid.write.format("parquet").saveAsTable("cleansing.cln_forecast_input")
        SparkWarehouse(session, "seed").ensure_tables()
        for statement in EARLIER_RUNS:
            session.sql(statement)
    finally:
        session.stop()


if __name__ == "__main__":
    main()
