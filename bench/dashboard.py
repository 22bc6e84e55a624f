"""Dashboard latency: chart-data API per chart and full dashboard loads in headless Chromium.

The warehouse is built by the real pipeline (synthetic lake -> dbt -> forecasting -> publish),
Superset is set up from the YAML bundle in a temporary home and served by gunicorn on a free
port. Each dashboard is opened in Chromium; the chart-data requests it sends are recorded and
replayed through ``POST /api/v1/chart/data``. Baseline, measured in the same run: the SQL
Superset generates for that chart (``result_type: query``) run directly in DuckDB on the same
serving file, and for a dashboard the sum of its charts' direct DuckDB times.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
from playwright.sync_api import Page

from bench.result import BenchResult
from superset_config.server import stop_server
from superset_config.settings import SupersetSettings, new_secret, superset_venv
from tests.dashboard.dashboard_page import ChartData, open_dashboard
from tests.dashboard.superset_api import (
    DashboardInfo,
    SupersetApi,
    chromium,
    dashboards,
    logged_in_page,
)
from tests.dashboard.superset_process import start_superset
from tests.dashboard.warehouse_pipeline import create_dashboard_warehouse

CHART_GOAL = "p95 < 300 ms per chart"
DASHBOARD_GOAL = "full dashboard < 5 s"
WARMUP_RUNS = 1


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def timings_ms(action: Callable[[], object], runs: int) -> list[float]:
    for _ in range(WARMUP_RUNS):
        action()
    measured = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        measured.append((time.perf_counter() - started) * 1000)
    return measured


def generated_sql(api: SupersetApi, chart: ChartData) -> list[str]:
    """The SQL Superset runs for this chart's query context."""
    response = api.chart_data(chart.query_context | {"result_type": "query"})
    response.raise_for_status()
    return [result["query"] for result in response.json()["result"]]


def fetch_ok(api: SupersetApi, chart: ChartData) -> None:
    response = api.chart_data(chart.query_context)
    if response.status_code != 200:
        raise RuntimeError(f"chart {chart.chart_id}: {response.status_code} {response.text[:300]}")


def run_direct(serving_path: Path, statements: list[str]) -> None:
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        for statement in statements:
            connection.execute(statement).fetchall()


def chart_result(
    api: SupersetApi, chart: ChartData, title: str, serving_path: Path, runs: int
) -> tuple[BenchResult, float]:
    """The chart's API latency against its SQL run directly; also the direct median in ms."""
    sql = generated_sql(api, chart)
    api_ms = timings_ms(lambda: fetch_ok(api, chart), runs)
    direct_ms = timings_ms(lambda: run_direct(serving_path, sql), runs)
    result = BenchResult(
        benchmark="dashboard",
        metric=f"chart-data API p95, {title}",
        unit="ms",
        value=percentile(api_ms, 0.95),
        baseline_name="the chart's generated SQL directly in DuckDB (p95)",
        baseline_value=percentile(direct_ms, 0.95),
        higher_is_better=False,
        runs=runs,
        goal=CHART_GOAL,
        notes=f"p50 {percentile(api_ms, 0.5):.0f} ms vs {percentile(direct_ms, 0.5):.1f} ms direct",
    )
    return result, statistics.median(direct_ms)


def dashboard_results(
    api: SupersetApi,
    page: Page,
    base_url: str,
    info: DashboardInfo,
    serving_path: Path,
    scale: float,
) -> list[BenchResult]:
    dashboard_runs = max(2, round(3 * scale))
    chart_runs = max(10, round(15 * scale))
    # The first load warms the browser cache and the server; it is not measured.
    open_dashboard(page, base_url, info.slug, set(info.chart_ids))
    loads = [
        open_dashboard(page, base_url, info.slug, set(info.chart_ids))
        for _ in range(dashboard_runs)
    ]
    names = {state.chart_id: state.name for state in loads[-1].charts}
    results = []
    direct_total_ms = 0.0
    for chart_id, chart in sorted(loads[-1].data.items()):
        title = f"{info.title}: {names.get(chart_id, chart_id)}"
        result, direct_median_ms = chart_result(api, chart, title, serving_path, chart_runs)
        results.append(result)
        direct_total_ms += direct_median_ms
    load_seconds = [load.seconds for load in loads]
    results.append(
        BenchResult(
            benchmark="dashboard",
            metric=f"dashboard load in Chromium until every chart drew, {info.title}",
            unit="s",
            value=statistics.median(load_seconds),
            baseline_name="sum of its charts' SQL directly in DuckDB (medians)",
            baseline_value=direct_total_ms / 1000,
            higher_is_better=False,
            runs=dashboard_runs,
            goal=DASHBOARD_GOAL,
            notes=f"max {max(load_seconds):.2f} s; {len(loads[-1].data)} charts",
        )
    )
    return results


def run(scale: float = 1.0) -> list[BenchResult]:
    results: list[BenchResult] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as directory:
        root = Path(directory)
        warehouse = create_dashboard_warehouse(root, hours=6.0 * scale)
        settings = SupersetSettings(
            home=root / "home",
            secret_key=new_secret(),
            admin_password=new_secret(),
            serving_path=warehouse.serving_path,
            superset_venv=superset_venv({}),
        )
        process, base_url = start_superset(settings, root / "superset-server.log")
        try:
            api = SupersetApi(base_url, settings.admin_username, settings.admin_password)
            with chromium() as (_playwright, browser):
                page = logged_in_page(
                    browser, base_url, settings.admin_username, settings.admin_password
                )
                for info in dashboards(api):
                    results += dashboard_results(
                        api, page, base_url, info, warehouse.serving_path, scale
                    )
        finally:
            stop_server(process)
    return results
