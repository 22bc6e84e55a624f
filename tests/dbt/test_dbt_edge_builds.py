"""Builds at the edges: a lake with no files yet, `dbt build --empty`, and the forecast marts
before and after the forecasting step has written its tables."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from forecasting.warehouse import ensure_tables
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


# two runs of kraken BTC/USDT; the forecast tables themselves come from forecasting's own DDL
FORECAST_ROWS = """
insert into forecast.forecast_runs values
    ('old', '2026-03-01 00:00:00+00', 'Naive', '{}', 1, 1, 0, 1),
    ('r1', '2026-03-01 01:00:00+00', 'Naive,AutoETS', '{}', 1, 1, 0, 3);
insert into forecast.forecast_metrics
select run_id, 'kraken', 'BTC/USDT', model, mae, mae, mae, mase, cov_80, cov_95, 120, 2,
    '2026-03-01 00:02:00+00', '2026-03-01 00:05:00+00', mase, cov_80, cov_95, 120, 2,
    '2026-03-01 00:00:00+00', '2026-03-01 00:01:00+00', true, is_chosen, 2, 9, created_at_utc
from (values
    ('old', 'Naive', 9.0, 9.0, 0.8, 0.95, true, timestamptz '2026-03-01 00:00:00+00'),
    ('r1', 'Naive', 2.0, 2.0, 0.5, 0.9, false, timestamptz '2026-03-01 01:00:00+00'),
    ('r1', 'AutoETS', 1.0, 1.5, 0.75, 0.925, true, timestamptz '2026-03-01 01:00:00+00')
) as metrics(run_id, model, mae, mase, cov_80, cov_95, is_chosen, created_at_utc);
insert into forecast.forecast_prices values
    ('old', 'kraken', 'BTC/USDT', '2026-03-01 00:08:00+00', 1, 'Naive', 112.0, 111.9, 112.1,
        111.8, 112.2, '2026-03-01 00:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', '2026-03-01 00:08:00+00', 1, 'AutoETS', 112.0, 111, 113, 110,
        114, '2026-03-01 01:00:00+00'),
    ('r1', 'kraken', 'BTC/USDT', '2026-03-01 00:08:00+00', 1, 'Naive', 110.0, 109, 111, 108,
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
        "+mart_forecast_track_record",
        "assert_one_chosen_model_per_forecast_series",
        "--indirect-selection",
        "cautious",
    ]
    build_warehouse(lake_dir, duckdb_path, extra_args=forecast_marts)
    assert row_count(duckdb_path, "marts.mart_forecast_accuracy") == 0
    with duckdb.connect(str(duckdb_path)) as connection:
        ensure_tables(connection)
        connection.execute(FORECAST_ROWS)

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
        coverage = connection.sql(
            "select model, coverage_80, nominal_coverage_80, coverage_95, nominal_coverage_95"
            " from marts.mart_forecast_accuracy order by model"
        ).fetchall()
        track_record = connection.sql(
            "select model, horizon_step, forecasts, runs, chosen_forecasts, realised_mae,"
            " mae_vs_naive, realised_coverage_80, realised_coverage_95"
            " from marts.mart_forecast_track_record order by model, horizon_step"
        ).fetchall()
    # Only the newest run counts; AutoETS's MASE 1.5 against Naive's 2.0 is 0.75.
    assert accuracy == [("AutoETS", 1.5, True, 0.75, "BTC"), ("Naive", 2.0, False, 1.0, "BTC")]
    # The chosen model's forecast with the actual grid price: observed at 00:08, forward-filled at
    # 00:09 (the collector was still watching kraken).
    assert forecasts == [("00:08", "AutoETS", 113.0, 112.0), ("00:09", "AutoETS", 113.0, 113.5)]
    assert [
        (model, c80, float(n80), c95, float(n95)) for model, c80, n80, c95, n95 in coverage
    ] == [
        ("AutoETS", 0.75, 0.8, 0.925, 0.95),
        ("Naive", 0.5, 0.8, 0.9, 0.95),
    ]
    # The track record keeps both runs. At 00:08 the actual is observed (113.0): run r1's AutoETS
    # (112.0, 80 % 111..113) errs by 1 inside both intervals, r1's Naive (110.0, 80 % 109..111)
    # by 3, outside its 80 % interval but inside its 95 % one (108..114); the old run's Naive
    # (112.0, 80 % 111.9..112.1, 95 % 111.8..112.2) by 1, outside both. 00:09 is forward-filled
    # from the 00:08 tick, still fresh: AutoETS errs by 0.5, Naive by 0.
    assert track_record == [
        ("AutoETS", 1, 1, 1, 1, 1.0, 1.0 / 3.0, 1.0, 1.0),
        ("AutoETS", 2, 1, 1, 1, 0.5, None, 1.0, 1.0),
        ("Naive", 1, 2, 2, 1, 2.0, 1.0, 0.0, 0.5),
        ("Naive", 2, 1, 1, 0, 0.0, None, 1.0, 1.0),
    ]
