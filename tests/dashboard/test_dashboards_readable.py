"""What an analyst reads off the dashboards in headless Chromium: one market per price series,
human labels with units, one colour per exchange everywhere, each exchange pair once, and empty
states that say why.

The warehouse has BTC and ETH quoted in USDT on all four exchanges and in USD on coinbase and
kraken (tests/dashboard/warehouse_pipeline.py), so a chart that mixed quotes would show it.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from playwright.sync_api import Page

from tests.dashboard.conftest import DASHBOARD_SLUGS, SCREENSHOT_DIR, RunningSuperset
from tests.dashboard.dashboard_page import (
    DashboardLoad,
    choose_filter_value,
    look_named,
    open_dashboard,
    save_screenshot,
)
from tests.dashboard.superset_api import DashboardInfo, SupersetApi
from tests.dashboard.warehouse_pipeline import EXCHANGES, STEADY_EXCHANGE, USD_EXCHANGES

pytestmark = [pytest.mark.slow, pytest.mark.browser]

BUNDLE_DASHBOARDS = (
    Path(__file__).resolve().parents[2] / "superset_config" / "bundle" / "dashboards"
)
# A raw column name: lower-case words joined by underscores (price_diff_pct, exchange_id).
SNAKE_CASE = re.compile(r"\b[a-z0-9]+(?:_[a-z0-9]+)+\b")
PRICE_CHART = "Price, last 24 h"
PAIRS_TABLE = "Largest price differences"
# Superset draws a forecast band from two series named '<band>__yhat_lower' / '__yhat_upper':
# the reader sees the band's name (in the tooltip), never the suffix (no legend entry).
BAND_SUFFIX = re.compile(r"__yhat_(lower|upper)$")


def label_colors() -> dict[str, dict[str, str]]:
    """Each dashboard's fixed exchange colours, as the YAML in git declares them."""
    return {
        path.stem: yaml.safe_load(path.read_text(encoding="utf-8"))["metadata"]["label_colors"]
        for path in sorted(BUNDLE_DASHBOARDS.glob("*.yaml"))
    }


def unhuman(labels: list[str]) -> list[str]:
    return [label for label in labels if not label.strip() or SNAKE_CASE.search(label)]


@pytest.mark.parametrize("slug", DASHBOARD_SLUGS)
def test_axis_titles_legends_and_column_headers_are_human_labels(
    slug: str, dashboard_loads: dict[str, DashboardLoad]
) -> None:
    """Every plotted chart has both axis titles, every table its headers, and none of them (nor
    any legend entry) is a raw column name."""
    load = dashboard_loads[slug]
    assert load.looks, f"{slug}: no chart found on the page"
    problems = {}
    for look in load.looks:
        if look.viz_type == "table":
            labels = list(look.headers)
            assert labels, f"{look.name}: a table without headers"
        else:
            assert look.has_echarts_options, f"{look.name}: its ECharts options were not found"
            assert look.x_titles, f"{look.name}: no x axis title"
            assert look.y_titles, f"{look.name}: no y axis title"
            labels = [
                *look.x_titles,
                *look.y_titles,
                *look.legend,
                *(BAND_SUFFIX.sub("", series.name) for series in look.series),
            ]
        if bad := unhuman(labels):
            problems[look.name] = bad
    assert not problems, f"{slug}: raw or empty labels: {problems}"


def test_time_and_price_axes_say_their_unit_and_time_zone(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    price = look_named(dashboard_loads["market-overview"], PRICE_CHART)
    assert price.x_titles == ("Time (UTC)",)
    assert price.y_titles == ("Price (quote currency)",)
    latency = look_named(dashboard_loads["market-overview"], "Latency per platform")
    assert all("(ms" in title for title in latency.y_titles), latency.y_titles
    frequency = look_named(dashboard_loads["exchange-quality"], "Update frequency")
    assert frequency.x_titles == ("Day (UTC)",)
    assert frequency.y_titles == ("Update frequency (Hz)",)


def test_each_exchange_has_one_fixed_colour_on_every_chart_of_every_dashboard(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    """The colours drawn are the ones declared in git, the same on every dashboard, and four
    different ones."""
    declared = {
        dashboard: {name: colour for name, colour in colours.items() if name in EXCHANGES}
        for dashboard, colours in label_colors().items()
    }
    assert len({tuple(sorted(colours.items())) for colours in declared.values()}) == 1, declared
    fixed = next(iter(declared.values()))
    assert set(fixed) == set(EXCHANGES)
    assert len(set(fixed.values())) == len(EXCHANGES), f"two exchanges share a colour: {fixed}"
    drawn: dict[str, set[str | None]] = {}
    charts_with_exchange_series = set()
    for slug, load in dashboard_loads.items():
        for look in load.looks:
            for series in look.series:
                if series.name in fixed:
                    drawn.setdefault(series.name, set()).add(series.color)
                    charts_with_exchange_series.add((slug, look.name))
    assert {slug for slug, _ in charts_with_exchange_series} >= {
        "market-overview",
        "exchange-quality",
    }, charts_with_exchange_series
    assert {name: colours for name, colours in drawn.items()} == {
        name: {colour} for name, colour in fixed.items()
    }


def price_query(load: DashboardLoad) -> dict[str, Any]:
    price = look_named(load, PRICE_CHART)
    return load.data[price.chart_id].query_context


def test_the_price_chart_draws_one_market_per_series(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    """Its query groups by exchange within exactly one coin and one quote: each series is one
    market (exchange + symbol with its quote)."""
    load = dashboard_loads["market-overview"]
    query = price_query(load)
    form_data = query["form_data"]
    assert form_data["groupby"] == ["exchange_id"]
    assert form_data["metrics"] == ["market_price"]
    filters = {item["col"]: item["val"] for item in form_data["extra_form_data"]["filters"]}
    assert filters == {"base_asset": ["BTC"], "quote_asset": ["USDT"]}
    series = {style.name for style in look_named(load, PRICE_CHART).series}
    assert series == set(EXCHANGES)


def test_the_price_metric_never_averages_two_quotes(
    api: SupersetApi, dashboard_loads: dict[str, DashboardLoad]
) -> None:
    """The price chart's own query with the quote filter taken away: coinbase and kraken list
    BTC in USD and in USDT, and their points are empty rather than an average of the two;
    binance and okx, with one market each, still draw."""
    context = copy.deepcopy(price_query(dashboard_loads["market-overview"]))
    for query in context["queries"]:
        query["filters"] = [item for item in query["filters"] if item["col"] != "quote_asset"]
    context["form_data"]["extra_form_data"]["filters"] = [
        item
        for item in context["form_data"]["extra_form_data"]["filters"]
        if item["col"] != "quote_asset"
    ]
    response = api.chart_data(context)
    assert response.status_code == 200, response.text
    rows = response.json()["result"][0]["data"]
    assert len(rows) >= 60
    for exchange in USD_EXCHANGES:
        assert all(row[exchange] is None for row in rows), f"{exchange}: USD and USDT mixed"
    for exchange in set(EXCHANGES) - set(USD_EXCHANGES):
        assert all(row[exchange] is not None for row in rows), exchange


def test_the_price_difference_table_lists_each_pair_once_largest_first(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    load = dashboard_loads["market-overview"]
    table = look_named(load, PAIRS_TABLE)
    data = load.data[table.chart_id]
    pairs = [row["exchange_pair"] for row in data.rows]
    assert len(pairs) == len(set(pairs)) == 6, pairs  # 4 exchanges: 6 pairs, each once
    largest = [row["largest_price_diff_pct"] for row in data.rows]
    assert largest == sorted(largest, reverse=True)
    assert len(data.rows) < data.query_context["form_data"]["row_limit"]
    assert "limit" not in table.text.lower(), "a row-limit warning is shown"
    assert table.headers[:2] == ("Exchange pair", "Largest difference (%)")


def test_an_exchange_without_disconnects_says_so(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    load = dashboard_loads["exchange-quality"]
    table = look_named(load, "Disconnects")
    rows = {row["exchange_id"]: row for row in load.data[table.chart_id].rows}
    assert set(rows) == set(EXCHANGES)
    assert rows[STEADY_EXCHANGE]["disconnects"] == 0
    assert rows[STEADY_EXCHANGE]["disconnect_note"].startswith(
        "No disconnects recorded in this period"
    )
    assert "No disconnects recorded in this period" in table.text
    for exchange in set(EXCHANGES) - {STEADY_EXCHANGE}:
        assert rows[exchange]["disconnects"] == 1
        assert rows[exchange]["disconnect_note"].startswith("Last on ")


def test_choosing_the_usd_quote_shows_only_the_usd_markets(
    page: Page,
    superset: RunningSuperset,
    dashboard_loads: dict[str, DashboardLoad],
    dashboard_infos: dict[str, DashboardInfo],
) -> None:
    slug = "market-overview"
    chart_ids = set(dashboard_infos[slug].chart_ids)
    open_dashboard(page, superset.base_url, slug, chart_ids)
    after = choose_filter_value(page, "NATIVE_FILTER-quote-market", "USD", slug, chart_ids)
    save_screenshot(page, SCREENSHOT_DIR / f"{slug}-usd.png")
    assert all(chart.rendered for chart in after.charts), after.charts
    for chart_id, data in after.data.items():
        assert data.status == 200, data.body
        applied = data.query_context["form_data"]["extra_form_data"]["filters"]
        assert {"col": "quote_asset", "op": "IN", "val": ["USD"]} in applied, chart_id
    price = look_named(after, PRICE_CHART)
    assert {series.name for series in price.series} == set(USD_EXCHANGES)
    pairs = [
        row["exchange_pair"] for row in after.data[look_named(after, PAIRS_TABLE).chart_id].rows
    ]
    assert pairs == [" / ".join(sorted(USD_EXCHANGES))]


SCOPE_CHART = "What this dashboard covers"
SCOPE_HEADERS = (
    "From (UTC day)",
    "To (UTC day)",
    "Exchanges",
    "Markets",
    "Watched (market-hours)",
    "Unobserved (market-hours)",
)


@pytest.mark.parametrize("slug", DASHBOARD_SLUGS)
def test_each_dashboard_says_what_period_and_exchanges_it_covers(
    slug: str, dashboard_loads: dict[str, DashboardLoad]
) -> None:
    """A one-row note at the top: the UTC days and the exchanges and markets the shown data
    comes from, under the dashboard's filters (the lake spans 2026-01-01 21:00 to the next day)."""
    load = dashboard_loads[slug]
    note = look_named(load, SCOPE_CHART)
    data = load.data[note.chart_id]
    filters = {
        f["col"]: f["val"] for f in data.query_context["form_data"]["extra_form_data"]["filters"]
    }
    assert filters["base_asset"] == ["BTC"], filters
    assert filters["quote_asset"] == ["USDT"], filters
    exchanges = sorted(filters.get("exchange_id", EXCHANGES))
    assert data.rows == [
        {
            "first_day_covered": "2026-01-01",
            "last_day_covered": "2026-01-02",
            "exchanges_covered": ", ".join(exchanges),
            "markets_covered": "BTC/USDT",
            "watched_hours": pytest.approx(data.rows[0]["watched_hours"]),
            "unobserved_hours": pytest.approx(data.rows[0]["unobserved_hours"]),
        }
    ]
    assert data.rows[0]["watched_hours"] > 0
    assert note.headers == SCOPE_HEADERS
    assert ", ".join(exchanges) in note.text
    assert "2026-01-01" in note.text


def test_coverage_separates_unobserved_time_from_missing(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    load = dashboard_loads["exchange-quality"]
    coverage = look_named(load, "Data coverage")
    names = {series.name for series in coverage.series}
    assert names == {
        "Observed",
        "Backfilled",
        "Forward-filled",
        "Interpolated",
        "Missing",
        "Unobserved (not watched)",
    }, names
    rows = load.data[coverage.chart_id].rows
    assert {row["exchange_id"] for row in rows} == set(EXCHANGES)
    assert all(row["unobserved_buckets"] >= 0 for row in rows), rows


# Cells whose text does not fit (cut off or ellipsed), and tables wider than their chart.
_TRUNCATED_JS = """
() => Array.from(document.querySelectorAll('.dashboard-component-chart-holder')).flatMap(holder => {
  const heading = holder.querySelector('.header-title, [data-test="editable-title"]');
  const title = heading ? heading.textContent : '';
  const cut = Array.from(holder.querySelectorAll('th, td'))
    .filter(cell => cell.scrollWidth > cell.clientWidth + 1)
    .map(cell => `${title}: cell "${cell.textContent.trim()}"`);
  const wide = Array.from(holder.querySelectorAll('table'))
    .filter(table => table.getBoundingClientRect().width > holder.getBoundingClientRect().width + 1)
    .map(() => `${title}: table wider than its chart`);
  return cut.concat(wide);
})
"""


@pytest.mark.parametrize("slug", DASHBOARD_SLUGS)
def test_no_table_column_is_cut_off_at_1440_px(
    slug: str,
    page: Page,
    superset: RunningSuperset,
    dashboard_infos: dict[str, DashboardInfo],
) -> None:
    assert page.viewport_size is not None
    assert page.viewport_size["width"] == 1440
    open_dashboard(page, superset.base_url, slug, set(dashboard_infos[slug].chart_ids))
    truncated = page.evaluate(_TRUNCATED_JS)
    assert truncated == [], truncated
