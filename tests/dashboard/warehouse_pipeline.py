"""The real pipeline behind the dashboards, small: lake -> dbt build -> forecast -> publish.

A synthetic lake (random walks for 4 exchanges x 3 coins quoted in USDT, coinbase and kraken
also in USD, plus connection events and a few ticks the data-quality policy quarantines) is built
by the real dbt project in-process, forecast by the real ``forecasting`` CLI, then published with
``tools.publish`` to the serving file Superset reads. The last hour lands after a first forecast
run, so that run's forecasts meet the prices that followed (the track record) and a second run
forecasts from the end. Used by the dashboard tests and the dashboard benchmark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from forecasting.cli import main as forecast_main
from tests.fixtures.lake import (
    LakeEvent,
    LakeTick,
    SyntheticLakeSpec,
    utc,
    write_lake,
    write_synthetic_lake,
)
from tests.fixtures.warehouse import build_warehouse, run_dbt
from tools.publish import publish

EXCHANGES = ("binance", "coinbase", "kraken", "okx")
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
START_PRICES = {"BTC/USDT": 60_000.0, "ETH/USDT": 3_000.0, "SOL/USDT": 150.0}
# A second quote, as on the sandbox and the real exchanges: coinbase and kraken also list USD
# markets, priced apart from the USDT ones, so a chart that mixed quotes would show it.
USD_EXCHANGES = ("coinbase", "kraken")
USD_SYMBOLS = ("BTC/USD", "ETH/USD")
USD_START_PRICES = {"BTC/USD": 60_600.0, "ETH/USD": 3_030.0}
# Never disconnects: the disconnect table must say so rather than show a bare 0.
STEADY_EXCHANGE = "okx"
# Spans midnight so the daily charts have two days.
LAKE_START_UTC = utc("2026-01-01 21:00:00")
# Quarantined by the data-quality policy: (exchange, symbol, price, how many), one per second.
REJECTED_TICKS = (("binance", "BTC/USDT", None, 3), ("kraken", "ETH/USDT", -1.0, 2))
# Hours of the lake that land after the first forecast run (the track record's actuals).
HOURS_AFTER_FIRST_FORECAST = 1.0
# Small forecasting settings: a 30-bucket horizon, two cross-validation windows.
FORECAST_ARGS = (
    "--horizon",
    "30",
    "--cv-step",
    "30",
    "--validation-windows",
    "1",
    "--test-windows",
    "1",
)
FORECAST_MARTS = ("stg_forecast__runs+", "stg_forecast__prices+", "stg_forecast__metrics+")


@dataclass(frozen=True)
class DashboardWarehouse:
    """Where the pipeline keeps its lake and its build file, and the file Superset reads."""

    lake_dir: Path
    build_path: Path
    serving_path: Path


def write_lake_hours(
    lake_dir: Path,
    start_utc: datetime,
    hours: float,
    run_id: str,
    seed: int,
    incidents: bool = True,
) -> None:
    """Ticks of every (exchange, symbol) for ``hours`` from ``start_utc``; with ``incidents``, a
    disconnect and a reconnect per exchange but STEADY_EXCHANGE, so the connection-health charts
    have data and one exchange has none to report, and the REJECTED_TICKS (without, the hours
    continue the connections already open)."""
    spec = SyntheticLakeSpec(
        start_utc=start_utc,
        hours=hours,
        exchanges=EXCHANGES,
        symbols=SYMBOLS,
        ticks_per_pair_per_s=0.2,
        seed=seed,
        run_id=run_id,
        start_prices=START_PRICES,
    )
    write_synthetic_lake(lake_dir, spec)
    usd_spec = SyntheticLakeSpec(
        start_utc=start_utc,
        hours=hours,
        exchanges=USD_EXCHANGES,
        symbols=USD_SYMBOLS,
        ticks_per_pair_per_s=0.2,
        seed=seed + 1,
        run_id=f"{run_id}-usd",
        start_prices=USD_START_PRICES,
    )
    write_synthetic_lake(lake_dir, usd_spec)
    if not incidents:
        return
    events: list[LakeEvent] = []
    for index, exchange_id in enumerate(EXCHANGES):
        events.append(LakeEvent(exchange_id, start_utc, "connected"))
        if exchange_id == STEADY_EXCHANGE:
            continue
        disconnected = start_utc + timedelta(minutes=30 + 10 * index)
        events += [
            LakeEvent(exchange_id, disconnected, "disconnect"),
            LakeEvent(exchange_id, disconnected + timedelta(seconds=2 + 3 * index), "reconnected"),
        ]
    write_lake(lake_dir, [], events, run_id=f"{run_id}-events")
    rejected = [
        LakeTick(exchange_id, symbol, start_utc + timedelta(minutes=20, seconds=second), price)
        for exchange_id, symbol, price, count in REJECTED_TICKS
        for second in range(count)
    ]
    write_lake(lake_dir, rejected, run_id=f"{run_id}-rejected")


def build_and_forecast(warehouse: DashboardWarehouse) -> None:
    """dbt build, then one forecast run over what the lake holds."""
    build_warehouse(warehouse.lake_dir, warehouse.build_path)
    exit_code = forecast_main(["--duckdb-path", str(warehouse.build_path), *FORECAST_ARGS])
    if exit_code != 0:
        raise RuntimeError(f"forecasting exited with {exit_code}")


def build_and_publish(warehouse: DashboardWarehouse) -> None:
    """dbt build, forecast, rebuild the forecast marts, publish: what `make demo` runs."""
    build_and_forecast(warehouse)
    run = run_dbt(["build", "--select", *FORECAST_MARTS], warehouse.lake_dir, warehouse.build_path)
    if not run.success:
        raise RuntimeError(f"dbt build of the forecast marts failed: {run.nodes}")
    publish(warehouse.build_path, warehouse.serving_path)


def rebuild_and_publish(warehouse: DashboardWarehouse) -> None:
    """`make build publish`: dbt build (forecast marts from the forecasts already there)."""
    build_warehouse(warehouse.lake_dir, warehouse.build_path)
    publish(warehouse.build_path, warehouse.serving_path)


def create_dashboard_warehouse(root: Path, hours: float = 6.0) -> DashboardWarehouse:
    warehouse = DashboardWarehouse(
        lake_dir=root / "lake",
        build_path=root / "warehouse" / "build.duckdb",
        serving_path=root / "warehouse" / "serving.duckdb",
    )
    first_hours = hours - HOURS_AFTER_FIRST_FORECAST
    write_lake_hours(warehouse.lake_dir, LAKE_START_UTC, first_hours, run_id="base", seed=7)
    build_and_forecast(warehouse)
    write_lake_hours(
        warehouse.lake_dir,
        LAKE_START_UTC + timedelta(hours=first_hours),
        HOURS_AFTER_FIRST_FORECAST,
        run_id="later",
        seed=8,
        incidents=False,
    )
    build_and_publish(warehouse)
    return warehouse
