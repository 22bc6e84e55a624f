"""Open a Superset dashboard in Chromium and wait until every chart has rendered its data.

While the page loads, every ``POST /api/v1/chart/data`` the dashboard sends is recorded with its
query context and response, so callers can check the data behind each chart and replay the
exact queries the dashboard runs (the rebuild test and the benchmark do).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Response

RENDER_TIMEOUT_S = 90.0
POLL_INTERVAL_MS = 200
ECHARTS_ANIMATION_MS = 1500  # ECharts draws lines in over about a second

# Per chart on the page: its id, whether it drew something (an ECharts canvas or table rows),
# and any error or empty-result panel inside it.
_CHART_STATES_JS = """
() => Array.from(document.querySelectorAll('[data-test="chart-grid-component"]')).map(el => ({
    chart_id: Number(el.getAttribute('data-test-chart-id')),
    viz_type: el.getAttribute('data-test-viz-type'),
    name: el.getAttribute('data-test-chart-name'),
    canvases: el.querySelectorAll('canvas').length,
    table_rows: el.querySelectorAll('tbody tr').length,
    errors: Array.from(el.querySelectorAll('.ant-alert-error, [role="alert"]'))
        .map(alert => alert.innerText.slice(0, 300)),
    empty: el.innerText.includes('No results were returned'),
    loading: el.querySelectorAll('[data-test="loading-indicator"], .loading').length,
}))
"""


@dataclass(frozen=True)
class ChartState:
    """What the browser shows for one chart."""

    chart_id: int
    viz_type: str
    name: str
    canvases: int
    table_rows: int
    errors: tuple[str, ...]
    empty: bool
    loading: int

    @property
    def rendered(self) -> bool:
        drawn = self.canvases > 0 if self.viz_type != "table" else self.table_rows > 0
        return drawn and not self.loading and not self.errors and not self.empty


@dataclass(frozen=True)
class ChartData:
    """One chart-data request the dashboard sent and the response it got."""

    chart_id: int
    status: int
    query_context: dict[str, Any]
    body: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for result in self.body.get("result", []) for row in result.get("data", [])]

    @property
    def colnames(self) -> list[str]:
        """Result columns; a time-series chart has one per series after its pivot."""
        return [name for result in self.body.get("result", []) for name in result["colnames"]]


@dataclass
class ChartDataRecorder:
    """Collects chart-data responses (latest per chart) from a page's network traffic."""

    responses: dict[int, ChartData] = field(default_factory=dict)

    def __call__(self, response: Response) -> None:
        request = response.request
        if request.method != "POST" or "/api/v1/chart/data" not in response.url:
            return
        query_context = json.loads(request.post_data or "{}")
        chart_id = query_context.get("form_data", {}).get("slice_id")
        if chart_id is None:  # a native filter fetching its options, not a chart
            return
        self.responses[int(chart_id)] = ChartData(
            chart_id=int(chart_id),
            status=response.status,
            query_context=query_context,
            body=response.json(),
        )


# What each ECharts chart was asked to draw, read from the props Superset's Echart component
# renders with (React's fiber on the canvas' ancestors): series names and colours, axis titles.
_ECHARTS_OPTIONS_JS = """
() => Array.from(document.querySelectorAll('[data-test="chart-grid-component"]')).map(el => {
    const canvas = el.querySelector('canvas');
    let node = canvas;
    let key = null;
    while (node && !key) {
        key = Object.keys(node).find(name => name.startsWith('__reactFiber$'));
        if (!key) node = node.parentElement;
    }
    let fiber = key ? node[key] : null;
    while (fiber && !(fiber.memoizedProps && fiber.memoizedProps.echartOptions)) {
        fiber = fiber.return;
    }
    const options = fiber ? fiber.memoizedProps.echartOptions : null;
    const axes = value => (Array.isArray(value) ? value : value ? [value] : []);
    return {
        chart_id: Number(el.getAttribute('data-test-chart-id')),
        name: el.getAttribute('data-test-chart-name'),
        viz_type: el.getAttribute('data-test-viz-type'),
        found: Boolean(options),
        series: options ? (options.series || []).map(series => ({
            name: String(series.name),
            id: series.id === undefined ? null : String(series.id),
            color: (series.itemStyle && series.itemStyle.color) || null,
            type: series.type || null,
            stack: series.stack || null,
            has_area: Boolean(series.areaStyle),
            line_opacity: series.lineStyle && series.lineStyle.opacity !== undefined
                ? series.lineStyle.opacity : null,
            points: (series.data || []).map(point => Array.isArray(point) ? point : [null, point]),
        })) : [],
        legend: options ? axes(options.legend).flatMap(legend => (legend.data || []).map(
            entry => String(entry && typeof entry === 'object' ? entry.name : entry))) : [],
        x_titles: options ? axes(options.xAxis).map(axis => axis.name || '') : [],
        // Only the y axes a series is drawn on (a mixed chart always has a second one).
        y_titles: options ? axes(options.yAxis)
            .filter((axis, index) => (options.series || [])
                .some(series => (series.yAxisIndex || 0) === index))
            .map(axis => axis.name || '') : [],
        headers: Array.from(el.querySelectorAll('th')).map(th => th.innerText.trim()),
        text: el.innerText,
    };
})
"""


@dataclass(frozen=True)
class SeriesStyle:
    """One ECharts series as drawn: name, colour, and for bands its stack, area and points."""

    name: str
    color: str | None
    id: str | None = None
    type: str | None = None
    stack: str | None = None
    has_area: bool = False
    line_opacity: float | None = None
    points: tuple[tuple[Any, Any], ...] = ()


@dataclass(frozen=True)
class ChartLook:
    """What a chart shows a reader: series and their colours, axis titles, table headers."""

    chart_id: int
    name: str
    viz_type: str
    has_echarts_options: bool
    series: tuple[SeriesStyle, ...]
    legend: tuple[str, ...]
    x_titles: tuple[str, ...]
    y_titles: tuple[str, ...]
    headers: tuple[str, ...]
    text: str


def chart_looks(page: Page) -> tuple[ChartLook, ...]:
    return tuple(
        ChartLook(
            chart_id=look["chart_id"],
            name=look["name"],
            viz_type=look["viz_type"],
            has_echarts_options=look["found"],
            series=tuple(
                SeriesStyle(
                    name=s["name"],
                    color=s["color"],
                    id=s["id"],
                    type=s["type"],
                    stack=s["stack"],
                    has_area=s["has_area"],
                    line_opacity=s["line_opacity"],
                    points=tuple((point[0], point[1]) for point in s["points"]),
                )
                for s in look["series"]
            ),
            legend=tuple(look["legend"]),
            x_titles=tuple(look["x_titles"]),
            y_titles=tuple(look["y_titles"]),
            headers=tuple(look["headers"]),
            text=look["text"],
        )
        for look in page.evaluate(_ECHARTS_OPTIONS_JS)
    )


@dataclass(frozen=True)
class DashboardLoad:
    """The outcome of opening (or re-filtering) a dashboard."""

    slug: str
    seconds: float
    charts: tuple[ChartState, ...]
    data: dict[int, ChartData]
    looks: tuple[ChartLook, ...] = ()


def look_named(load: DashboardLoad, prefix: str) -> ChartLook:
    """The chart whose title starts with ``prefix``."""
    return next(look for look in load.looks if look.name.startswith(prefix))


def chart_states(page: Page) -> tuple[ChartState, ...]:
    return tuple(
        ChartState(
            chart_id=state["chart_id"],
            viz_type=state["viz_type"],
            name=state["name"],
            canvases=state["canvases"],
            table_rows=state["table_rows"],
            errors=tuple(state["errors"]),
            empty=state["empty"],
            loading=state["loading"],
        )
        for state in page.evaluate(_CHART_STATES_JS)
    )


def wait_for_charts(
    page: Page,
    slug: str,
    recorder: ChartDataRecorder,
    expected_chart_ids: set[int],
    started: float,
    timeout_s: float = RENDER_TIMEOUT_S,
) -> DashboardLoad:
    """Poll until every expected chart has a response and is drawn, or the timeout passes.

    Returns the last observation either way; the caller asserts on it (so a failure shows
    which chart did not render and why).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        states = chart_states(page)
        answered = expected_chart_ids <= set(recorder.responses)
        shown = {state.chart_id for state in states}
        if answered and shown >= expected_chart_ids and all(state.rendered for state in states):
            break
        if any(state.errors for state in states) or time.monotonic() > deadline:
            break
        page.wait_for_timeout(POLL_INTERVAL_MS)
    return DashboardLoad(
        slug=slug,
        seconds=time.monotonic() - started,
        charts=states,
        data=dict(recorder.responses),
        looks=chart_looks(page),
    )


def open_dashboard(
    page: Page, base_url: str, slug: str, expected_chart_ids: set[int]
) -> DashboardLoad:
    recorder = ChartDataRecorder()
    page.on("response", recorder)
    try:
        started = time.monotonic()
        page.goto(f"{base_url}/superset/dashboard/{slug}/")
        return wait_for_charts(page, slug, recorder, expected_chart_ids, started)
    finally:
        page.remove_listener("response", recorder)


def choose_filter_value(
    page: Page, filter_id: str, value: str, slug: str, expected_chart_ids: set[int]
) -> DashboardLoad:
    """Pick ``value`` in a native select filter, apply, and wait for the charts to redraw."""
    recorder = ChartDataRecorder()
    page.on("response", recorder)
    try:
        page.click(f'[data-test="{filter_id}"]')
        page.fill(f"input#{filter_id}", value)
        page.click(f'.ant-select-item-option[title="{value}"]')
        started = time.monotonic()
        page.click('[data-test="filter-bar__apply-button"]')
        return wait_for_charts(page, slug, recorder, expected_chart_ids, started)
    finally:
        page.remove_listener("response", recorder)


def save_screenshot(page: Page, path: Path) -> Path:
    """Capture the viewport once the filter bar has its values and the chart animations ended."""
    page.wait_for_function(
        "() => !document.body.innerText.includes('Loading filter values')",
        timeout=RENDER_TIMEOUT_S * 1000,
    )
    page.wait_for_timeout(ECHARTS_ANIMATION_MS)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The dashboard scrolls inside its own container: a full-page capture would come out blank.
    page.screenshot(path=str(path))
    return path
