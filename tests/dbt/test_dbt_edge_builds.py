"""Builds at the edges: a lake with no files yet, `dbt build --empty`, and the forecast marts
before and after the forecasting step has written its tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.fixtures.known_lake import write_known_lake
from tests.fixtures.warehouse import build_warehouse

pytestmark = pytest.mark.slow


def row_count(duckdb_path: Path, table: str) -> int:
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        result = connection.execute(f"select count(*) from {table}").fetchone()
    assert result is not None
    return int(result[0])


def test_lake_without_files_builds_empty_typed_tables(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    lake_dir.mkdir()
    duckdb_path = tmp_path / "warehouse.duckdb"
    run = build_warehouse(lake_dir, duckdb_path)
    warned = {node.unique_id.split(".")[2] for node in run.with_status("warn")}
    assert "not_empty_fct_latency_daily_" in warned
    assert row_count(duckdb_path, "cleansing.cln_market_grid") == 0
    assert row_count(duckdb_path, "marts.mart_quality_ranking") == 0


def test_build_empty_runs_against_a_throwaway_database(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    write_known_lake(lake_dir)
    throwaway = tmp_path / "throwaway.duckdb"
    build_warehouse(lake_dir, throwaway, extra_args=["--empty"])
    assert row_count(throwaway, "staging.stg_lake__market_ticks") == 0
    assert row_count(throwaway, "marts.mart_price_24h") == 0


FORECAST_TABLES = """
create schema if not exists forecast;
create table forecast.forecast_prices (
    run_id varchar, exchange_id varchar, symbol varchar, forecast_bucket_utc timestamptz,
    horizon_step integer, model varchar, yhat double, yhat_lo_80 double, yhat_hi_80 double,
    yhat_lo_95 double, yhat_hi_95 double, created_at_utc timestamptz
);
create table forecast.forecast_metrics (
    run_id varchar, exchange_id varchar, symbol varchar, model varchar, mae double, rmse double,
    mape double, mase double, is_chosen boolean, cv_windows integer, horizon integer,
    n_train_points integer, created_at_utc timestamptz
);
insert into forecast.forecast_metrics values
    ('old', 'kraken', 'BTC/USDT', 'Naive', 9, 9, 9, 9.0, true, 3, 2, 9, '2026-03-01 00:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', 'Naive', 2, 2, 2, 2.0, false, 3, 2, 9, '2026-03-01 01:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', 'AutoETS', 1, 1, 1, 1.5, true, 3, 2, 9, '2026-03-01 01:00:00+00');
insert into forecast.forecast_prices values
    ('old', 'kraken', 'BTC/USDT', '2026-03-01 00:09:00+00', 1, 'Naive', 1, 0, 2, 0, 2,
        '2026-03-01 00:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', '2026-03-01 00:08:00+00', 1, 'AutoETS', 112.0, 111, 113, 110,
        114, '2026-03-01 01:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', '2026-03-01 00:09:00+00', 2, 'AutoETS', 113.5, 112, 115, 111,
        116, '2026-03-01 01:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', '2026-03-01 00:09:00+00', 2, 'Naive', 113.0, 112, 114, 111,
        115, '2026-03-01 01:00:00+00');
"""


def test_forecast_marts_fill_after_the_forecast_tables_appear(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    write_known_lake(lake_dir)
    duckdb_path = tmp_path / "warehouse.duckdb"
    forecast_marts = [
        "--select",
        "+mart_forecast_vs_actual",
        "+mart_forecast_accuracy",
        "--indirect-selection",
        "cautious",
    ]
    build_warehouse(lake_dir, duckdb_path, extra_args=forecast_marts)
    assert row_count(duckdb_path, "marts.mart_forecast_accuracy") == 0
    with duckdb.connect(str(duckdb_path)) as connection:
        connection.execute(FORECAST_TABLES)

    build_warehouse(lake_dir, duckdb_path, extra_args=forecast_marts)
    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        accuracy = connection.sql(
            "select model, mase, is_chosen, mase_vs_naive, base_asset "
            "from marts.mart_forecast_accuracy order by model"
        ).fetchall()
        forecasts = connection.sql(
            "select strftime(bucket_start_utc, '%H:%M'), model, actual_price, yhat "
            "from marts.mart_forecast_vs_actual where is_forecast order by 1"
        ).fetchall()
    # Only the newest run counts; AutoETS's MASE 1.5 against Naive's 2.0 is 0.75.
    assert accuracy == [("AutoETS", 1.5, True, 0.75, "BTC"), ("Naive", 2.0, False, 1.0, "BTC")]
    # The chosen model's forecast with the actual grid price: observed at 00:08, forward-filled at
    # 00:09 (the collector was still watching kraken).
    assert forecasts == [("00:08", "AutoETS", 113.0, 112.0), ("00:09", "AutoETS", 113.0, 113.5)]
