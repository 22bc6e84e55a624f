"""The three dashboards in headless Chromium over a dbt-built warehouse: every chart draws data,
and the coin selector changes what the charts show."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.dashboard.conftest import DASHBOARD_SLUGS, SCREENSHOT_DIR, RunningSuperset
from tests.dashboard.dashboard_page import (
    DashboardLoad,
    choose_filter_value,
    open_dashboard,
    save_screenshot,
)
from tests.dashboard.superset_api import DashboardInfo

pytestmark = [pytest.mark.slow, pytest.mark.browser]

EXPECTED_TITLES = {
    "market-overview": "Market overview",
    "exchange-quality": "Exchange quality",
    "forecasts": "Forecasts",
}


def test_the_three_dashboards_are_imported_from_git(
    dashboard_infos: dict[str, DashboardInfo],
) -> None:
    assert {slug: info.title for slug, info in dashboard_infos.items()} == EXPECTED_TITLES
    assert all(len(dashboard_infos[slug].chart_ids) >= 3 for slug in DASHBOARD_SLUGS)


@pytest.mark.parametrize("slug", DASHBOARD_SLUGS)
def test_every_chart_renders_with_data_and_no_error_panel(
    slug: str,
    dashboard_loads: dict[str, DashboardLoad],
    dashboard_infos: dict[str, DashboardInfo],
) -> None:
    load = dashboard_loads[slug]
    expected = set(dashboard_infos[slug].chart_ids)
    assert {chart.chart_id for chart in load.charts} == expected
    not_rendered = [chart for chart in load.charts if not chart.rendered]
    assert not not_rendered, f"{slug}: charts not rendered with data: {not_rendered}"
    for chart_id in expected:
        data = load.data[chart_id]
        assert data.status == 200, (chart_id, data.body)
        assert data.rows, f"{slug}: chart {chart_id} got no rows"
    assert (SCREENSHOT_DIR / f"{slug}.png").stat().st_size > 10_000


def test_price_chart_lists_binance_first(dashboard_loads: dict[str, DashboardLoad]) -> None:
    load = dashboard_loads["market-overview"]
    price_chart = next(chart for chart in load.charts if chart.name.startswith("Price, last 24 h"))
    data = load.data[price_chart.chart_id]
    series = [name for name in data.colnames if name != "bucket_start_utc"]
    assert series[0] == "binance"
    assert set(series) == {"binance", "coinbase", "kraken", "okx"}
    assert len(data.rows) >= 60, "expected minute prices over hours"


def test_choosing_another_coin_changes_every_coin_chart(
    page: Page,
    superset: RunningSuperset,
    dashboard_loads: dict[str, DashboardLoad],
    dashboard_infos: dict[str, DashboardInfo],
) -> None:
    slug = "market-overview"
    before = dashboard_loads[slug]
    chart_ids = set(dashboard_infos[slug].chart_ids)
    # Every chart's first (BTC) answer must be in before the filter is applied: one still in
    # flight would be recorded as the filtered answer.
    open_dashboard(page, superset.base_url, slug, chart_ids)
    after = choose_filter_value(page, "NATIVE_FILTER-coin-market", "ETH", slug, chart_ids)
    save_screenshot(page, SCREENSHOT_DIR / f"{slug}-eth.png")
    assert all(chart.rendered for chart in after.charts), after.charts
    for chart_id, data in after.data.items():
        assert data.status == 200, data.body
        applied = data.query_context["form_data"]["extra_form_data"]["filters"]
        assert {"col": "base_asset", "op": "IN", "val": ["ETH"]} in applied
        assert data.rows, f"chart {chart_id} has no ETH rows"
        assert data.rows != before.data[chart_id].rows, f"chart {chart_id} did not change"
    assert set(after.data) == chart_ids
