"""``python -m forecasting`` against a real DuckDB warehouse file holding cln_market_grid."""

from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import numpy as np
import pytest

from forecasting.cli import main
from tests.forecasting.forecast_grid_factory import (
    GridSeries,
    random_walk,
    seasonal,
    trending,
    write_grid,
)

# small settings keep runs quick: horizon 12, 2 windows, 60 training buckets, one process;
# season 30 (> 24) keeps AutoETS non-seasonal, as with the defaults
FAST = [
    "--horizon", "12", "--cv-step", "12", "--validation-windows", "1", "--test-windows", "1",
    "--season-length", "30", "--window-size", "12", "--min-train-points", "60",
    "--conformal-windows", "2", "--n-jobs", "1",
]  # fmt: skip
CONTRACT_COLUMNS = {
    "forecast_prices": [
        "run_id", "exchange_id", "symbol", "forecast_bucket_utc", "horizon_step", "model",
        "yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95", "created_at_utc",
    ],
    "forecast_runs": [
        "run_id", "created_at_utc", "models", "settings_json", "series_in_grid", "series_forecast",
        "series_skipped", "forecast_rows",
    ],
    "forecast_metrics": [
        "run_id", "exchange_id", "symbol", "model", "mae", "rmse", "mape", "mase", "coverage_80",
        "coverage_95", "n_test_points", "test_windows", "test_from_utc", "test_to_utc",
        "validation_mase", "validation_coverage_80", "validation_coverage_95",
        "n_validation_points", "validation_windows", "validation_from_utc", "validation_to_utc",
        "is_calibrated", "is_chosen", "horizon", "n_train_points", "created_at_utc",
    ],
    "forecast_skipped_series": [
        "run_id", "exchange_id", "symbol", "reason", "n_points", "created_at_utc", "detail",
    ],
}  # fmt: skip


def _grid_series() -> list[GridSeries]:
    gappy = random_walk(240, seed=5)
    gappy[100:140] = np.nan
    return [
        GridSeries("binance", "BTC/USDT", random_walk(240, seed=1, start=60_000.0, step_sd=20.0)),
        GridSeries("binance", "ETH/USDT", trending(240, seed=2)),
        GridSeries("kraken", "BTC/USD", seasonal(240, seed=3, period=30)),
        GridSeries("kraken", "ETH/USD", np.full(240, 3000.0)),
        GridSeries("okx", "BTC/USDT", random_walk(30, seed=4)),
        GridSeries("okx", "ETH/USDT", gappy),
    ]


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "build.duckdb"
    write_grid(path, _grid_series())
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_a_run_writes_contract_tables_with_metrics_for_every_forecast_series(
    warehouse: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="forecasting")
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    assert "forecast=3 skipped=3" in capsys.readouterr().out
    stages = [
        r.getMessage().split()[0] for r in caplog.records if r.getMessage().startswith("stage=")
    ]
    assert stages == [
        "stage=load", "stage=prepare", "stage=cross_validation", "stage=score", "stage=forecast",
        "stage=write",
    ]  # fmt: skip

    for table, columns in CONTRACT_COLUMNS.items():
        described = _rows(warehouse, f"describe forecast.{table}")
        assert [row[0] for row in described] == columns

    forecast_series = _rows(
        warehouse, "select distinct exchange_id, symbol from forecast.forecast_prices order by all"
    )
    assert forecast_series == [
        ("binance", "BTC/USDT"),
        ("binance", "ETH/USDT"),
        ("kraken", "BTC/USD"),
    ]
    metric_counts = _rows(
        warehouse,
        "select exchange_id, symbol, count(*), count(mase), count_if(is_chosen)"
        " from forecast.forecast_metrics group by all order by all",
    )
    assert metric_counts == [(*key, 4, 4, 1) for key in forecast_series]
    assert _rows(warehouse, "select count(*) from forecast.forecast_prices") == [(3 * 4 * 12,)]

    skipped = _rows(
        warehouse,
        "select exchange_id, symbol, reason, n_points"
        " from forecast.forecast_skipped_series order by all",
    )
    assert skipped == [
        ("kraken", "ETH/USD", "constant", 240),
        ("okx", "BTC/USDT", "too_short", 30),
        ("okx", "ETH/USDT", "too_many_gaps", 240),
    ]


def test_forecast_buckets_follow_the_last_grid_bucket(warehouse: Path) -> None:
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    (row,) = _rows(
        warehouse,
        """
        select
            min(epoch(forecast_bucket_utc) - epoch(last_bucket) - 60 * horizon_step),
            max(epoch(forecast_bucket_utc) - epoch(last_bucket) - 60 * horizon_step),
            count(*)
        from forecast.forecast_prices
        inner join (
            select exchange_id, symbol, max(bucket_start_utc) as last_bucket
            from cleansing.cln_forecast_input group by all
        ) using (exchange_id, symbol)
        """,
    )
    assert row == (0, 0, 3 * 4 * 12)


def test_a_second_run_is_kept_beside_the_first(
    warehouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DWH_DUCKDB_PATH", str(warehouse))  # the path from the environment, like dbt
    assert main(FAST) == 0
    assert main([*FAST, "--models", "none", "--exchanges", "binance"]) == 0
    runs = _rows(
        warehouse,
        "select run_id, models from forecast.forecast_runs order by created_at_utc, run_id",
    )
    assert [models for _, models in runs] == [
        "Naive,SeasonalNaive,WindowAverage,AutoETS",
        "Naive,SeasonalNaive,WindowAverage",
    ]
    for table in ("forecast_prices", "forecast_metrics", "forecast_skipped_series"):
        # both runs, whatever their ids' order (two runs in one second differ only in a random tail)
        kept = _rows(warehouse, f"select distinct run_id from forecast.{table} order by 1")
        assert kept == sorted((run_id,) for run_id, _ in runs) or table == "forecast_skipped_series"
    second = runs[1][0]
    assert _rows(
        warehouse,
        f"select distinct exchange_id from forecast.forecast_prices where run_id = '{second}'",
    ) == [("binance",)]
    chosen = _rows(
        warehouse,
        "select run_id, exchange_id, symbol, count_if(is_chosen) from forecast.forecast_metrics"
        " group by all having count_if(is_chosen) != 1",
    )
    assert chosen == []


def test_runs_older_than_keep_runs_days_are_deleted(warehouse: Path) -> None:
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute(
            "update forecast.forecast_runs set created_at_utc = created_at_utc - interval 3 day"
        )
    assert main(["--duckdb-path", str(warehouse), *FAST, "--keep-runs-days", "2"]) == 0
    (only_run,) = _rows(warehouse, "select run_id from forecast.forecast_runs")
    for table in ("forecast_prices", "forecast_metrics", "forecast_skipped_series"):
        assert _rows(warehouse, f"select distinct run_id from forecast.{table}") == [only_run]


def test_tables_of_the_older_layout_are_replaced(warehouse: Path) -> None:
    with duckdb.connect(str(warehouse)) as connection:
        connection.execute("create schema forecast")
        connection.execute(
            "create table forecast.forecast_metrics (run_id varchar, cv_windows integer)"
        )
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    described = _rows(warehouse, "describe forecast.forecast_metrics")
    assert [row[0] for row in described] == CONTRACT_COLUMNS["forecast_metrics"]


def test_a_failed_write_keeps_the_previous_run(warehouse: Path) -> None:
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    before = _rows(warehouse, "select run_id, count(*) from forecast.forecast_prices group by 1")
    with duckdb.connect(str(warehouse)) as connection:  # same columns, but the last insert fails
        connection.execute("drop table forecast.forecast_skipped_series")
        connection.execute(
            "create table forecast.forecast_skipped_series (run_id varchar, exchange_id varchar,"
            " symbol varchar, reason integer, n_points integer, created_at_utc timestamptz,"
            " detail varchar)"
        )
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 1
    assert (
        _rows(warehouse, "select run_id, count(*) from forecast.forecast_prices group by 1")
        == before
    )
    assert _rows(warehouse, "select count(*) from forecast.forecast_runs") == [(1,)]


def test_an_empty_grid_exits_cleanly_and_keeps_previous_forecasts(
    warehouse: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    before = _rows(warehouse, "select count(*) from forecast.forecast_prices")
    write_grid(warehouse, [])
    assert main(["--duckdb-path", str(warehouse), *FAST]) == 0
    assert "nothing to forecast: the grid is empty" in capsys.readouterr().out
    assert _rows(warehouse, "select count(*) from forecast.forecast_prices") == before


def test_an_empty_grid_in_a_new_warehouse_creates_empty_tables(tmp_path: Path) -> None:
    path = tmp_path / "build.duckdb"
    write_grid(path, [])
    assert main(["--duckdb-path", str(path)]) == 0
    for table in CONTRACT_COLUMNS:
        assert _rows(path, f"select count(*) from forecast.{table}") == [(0,)]


def test_only_unusable_series_still_records_why(tmp_path: Path) -> None:
    path = tmp_path / "build.duckdb"
    write_grid(path, [GridSeries("okx", "BTC/USDT", random_walk(30, seed=4))])
    assert main(["--duckdb-path", str(path), *FAST]) == 0
    assert _rows(path, "select reason from forecast.forecast_skipped_series") == [("too_short",)]
    assert _rows(path, "select count(*) from forecast.forecast_prices") == [(0,)]


def test_a_missing_warehouse_or_grid_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.duckdb"
    assert main(["--duckdb-path", str(missing)]) == 1
    assert "does not exist: run `make build` first" in capsys.readouterr().err
    assert not missing.exists()
    duckdb.connect(str(missing)).close()
    assert main(["--duckdb-path", str(missing)]) == 1
    assert "cleansing.cln_forecast_input is not in the warehouse" in capsys.readouterr().err
