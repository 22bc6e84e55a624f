"""Charts keep answering while the warehouse is rebuilt and republished, then show the new data.

A client thread replays every chart query the dashboards sent (captured in Chromium) as fast
as it can, while the main thread appends an hour to the lake, runs dbt build and publishes,
twice. Every response must be a 200 with rows; no lock error may ever appear.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from tests.dashboard.conftest import RunningSuperset
from tests.dashboard.dashboard_page import ChartData, DashboardLoad
from tests.dashboard.superset_api import SupersetApi
from tests.dashboard.warehouse_pipeline import LAKE_START_UTC, rebuild_and_publish, write_lake_hours

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.faults]

REBUILDS = 2
CLIENT_STOP_TIMEOUT_S = 60.0


@dataclass
class FetchLog:
    fetches: int = 0
    failures: list[str] = field(default_factory=list)


def fetch_until_stopped(
    api: SupersetApi, queries: list[ChartData], stop: threading.Event, log: FetchLog
) -> None:
    while not stop.is_set():
        for query in queries:
            response = api.chart_data(query.query_context)
            log.fetches += 1
            body = response.json() if response.ok else {}
            if response.status_code != 200 or not any(r.get("data") for r in body["result"]):
                log.failures.append(
                    f"chart {query.chart_id}: {response.status_code} {response.text[:300]}"
                )


def newest_price_bucket(api: SupersetApi, price_query: ChartData) -> int:
    rows = api.chart_data(price_query.query_context).json()["result"][0]["data"]
    return max(int(row["bucket_start_utc"]) for row in rows)


def test_charts_answer_without_error_during_rebuild_and_publish_and_then_show_new_data(
    api: SupersetApi,
    superset: RunningSuperset,
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    queries = [data for load in dashboard_loads.values() for data in load.data.values()]
    price_query = next(
        data
        for data in dashboard_loads["market-overview"].data.values()
        if data.query_context["form_data"]["viz_type"] == "echarts_timeseries_line"
        and data.query_context["form_data"]["metrics"] == ["market_price"]
    )
    newest_before = newest_price_bucket(api, price_query)
    client = SupersetApi(
        superset.base_url, superset.settings.admin_username, superset.settings.admin_password
    )
    stop = threading.Event()
    log = FetchLog()
    fetcher = threading.Thread(target=fetch_until_stopped, args=(client, queries, stop, log))
    fetcher.start()
    try:
        for rebuild in range(1, REBUILDS + 1):
            write_lake_hours(
                superset.warehouse.lake_dir,
                LAKE_START_UTC + timedelta(hours=5 + rebuild),
                hours=1,
                run_id=f"rebuild{rebuild}",
                seed=100 + rebuild,
            )
            rebuild_and_publish(superset.warehouse)
    finally:
        stop.set()
        fetcher.join(CLIENT_STOP_TIMEOUT_S)
    assert not fetcher.is_alive()
    assert log.fetches >= 2 * len(queries), f"only {log.fetches} fetches during the rebuilds"
    assert not log.failures, log.failures[:5]
    assert newest_price_bucket(api, price_query) > newest_before, "new data not shown"
