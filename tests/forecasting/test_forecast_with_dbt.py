"""The whole path: a lake -> dbt build -> python -m forecasting -> dbt builds the forecast marts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from forecasting.cli import main
from tests.fixtures.lake import SyntheticLakeSpec, write_synthetic_lake
from tests.fixtures.warehouse import build_warehouse

FAST = ["--horizon", "12", "--cv-step", "12", "--validation-windows", "1", "--test-windows", "1",
        "--season-length", "30", "--window-size", "12", "--min-train-points", "60",
        "--n-jobs", "1"]  # fmt: skip
# the forecast staging models and everything downstream of them (the two forecast marts)
FORECAST_MARTS = [
    "--select",
    "stg_forecast__runs+",
    "stg_forecast__prices+",
    "stg_forecast__metrics+",
]


@pytest.mark.slow
def test_dbt_marts_read_what_forecasting_writes(tmp_path: Path) -> None:
    lake_dir = tmp_path / "lake"
    write_synthetic_lake(
        lake_dir,
        SyntheticLakeSpec(
            start_utc=datetime(2026, 3, 1, tzinfo=UTC),
            hours=3,
            exchanges=("binance", "kraken"),
            symbols=("BTC/USDT", "ETH/USDT"),
            ticks_per_pair_per_s=0.2,
        ),
    )
    duckdb_path = tmp_path / "build.duckdb"
    build_warehouse(lake_dir, duckdb_path)

    assert main(["--duckdb-path", str(duckdb_path), *FAST]) == 0
    build_warehouse(lake_dir, duckdb_path, extra_args=FORECAST_MARTS)

    with duckdb.connect(str(duckdb_path), read_only=True) as connection:
        accuracy = connection.sql(
            "select exchange_id, symbol, count(*), count_if(is_chosen), count(mase_vs_naive),"
            " max(case when model = 'Naive' then mase_vs_naive end)"
            " from marts.mart_forecast_accuracy group by all order by all"
        ).fetchall()
        forecasts = connection.sql(
            "select exchange_id, symbol, count(*), count(yhat), min(bucket_start_utc)"
            " from marts.mart_forecast_vs_actual where is_forecast group by all order by all"
        ).fetchall()
        last_buckets = dict(
            ((exchange_id, symbol), last)
            for exchange_id, symbol, last in connection.sql(
                "select exchange_id, symbol, max(bucket_start_utc)"
                " from cleansing.cln_market_grid group by all"
            ).fetchall()
        )
    pairs = [(e, s) for e in ("binance", "kraken") for s in ("BTC/USDT", "ETH/USDT")]
    assert accuracy == [(*pair, 4, 1, 4, 1.0) for pair in pairs]
    assert [row[:4] for row in forecasts] == [(*pair, 12, 12) for pair in pairs]
    for exchange_id, symbol, _, _, first_forecast in forecasts:
        assert (first_forecast - last_buckets[(exchange_id, symbol)]).total_seconds() == 60
