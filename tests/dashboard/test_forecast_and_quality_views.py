"""The forecast and data-quality views in headless Chromium: prediction intervals drawn as shaded
bands, past forecasts drawn against the prices that followed with their realised error and
coverage, and per exchange and day what the data-quality policy rejected and why.

The warehouse (tests/dashboard/warehouse_pipeline.py) has two forecast runs: the first made
before the last hour landed, so its forecasts have actual prices, and a few ticks the policy
quarantines (REJECTED_TICKS).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dashboard.dashboard_page import ChartLook, DashboardLoad, SeriesStyle, look_named
from tests.dashboard.warehouse_pipeline import FORECAST_ARGS, REJECTED_TICKS

pytestmark = [pytest.mark.slow, pytest.mark.browser]

FORECAST_CHART = "Forecast with 80 % and 95 % bands"
PAST_FORECASTS_CHART = "Past forecasts against the prices that followed"
TRACK_RECORD_TABLE = "Track record"
DATA_QUALITY_TABLE = "Data quality"
# Drawn in this order, widest first (charts/forecast_vs_actual.yaml), and the metric each
# draws (the key of its colour in the dashboard's label_colors).
BOUND_METRICS = {
    "95 % high": "hi_95",
    "80 % high": "hi_80",
    "80 % low": "lo_80",
    "95 % low": "lo_95",
}
BOUNDS = tuple(BOUND_METRICS)
BACKGROUND = "#FFFFFF"
BUNDLE = Path(__file__).resolve().parents[2] / "superset_config" / "bundle"
FORECASTS_DASHBOARD = BUNDLE / "dashboards" / "forecasts.yaml"
HORIZON = int(FORECAST_ARGS[FORECAST_ARGS.index("--horizon") + 1])


def series_named(look: ChartLook, name: str) -> SeriesStyle:
    matches = [series for series in look.series if series.name == name]
    assert len(matches) == 1, f"{look.name}: series {name!r} in {[s.name for s in look.series]}"
    return matches[0]


def drawn_values(series: SeriesStyle) -> dict[Any, float]:
    return {x: float(y) for x, y in series.points if y is not None}


def forecasts_label_colors() -> dict[str, str]:
    metadata = yaml.safe_load(FORECASTS_DASHBOARD.read_text(encoding="utf-8"))["metadata"]
    return {name: colour.upper() for name, colour in metadata["label_colors"].items()}


def test_forecast_intervals_are_drawn_as_shaded_bands(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    """Every interval bound is an area series, drawn widest first with the lines on top: the
    95 % low area in the background colour leaves the 95 % band pale and the 80 % band darker
    inside it (not four lines); each area's edge is the bound the chart queried."""
    load = dashboard_loads["forecasts"]
    look = look_named(load, FORECAST_CHART)
    names = [series.name for series in look.series]
    assert names == [*BOUNDS, "Actual price", "Forecast"], names
    colours = forecasts_label_colors()
    for name in BOUNDS:
        series = series_named(look, name)
        assert series.type == "line"
        assert series.has_area, f"{name}: not an area"
        assert series.stack is None, f"{name}: stacked areas would shade the widths"
        assert (series.color or "").upper() == colours[BOUND_METRICS[name]], (name, series.color)
    assert colours["lo_95"] == BACKGROUND
    assert colours["hi_95"] == colours["lo_80"] != BACKGROUND
    assert colours["hi_80"] not in {BACKGROUND, colours["hi_95"]}
    for name in ("Actual price", "Forecast"):
        assert not series_named(look, name).has_area, f"{name} is shaded"
    queried = load.data[look.chart_id].rows
    drawn = {name: drawn_values(series_named(look, name)) for name in BOUNDS}
    assert all(len(values) >= HORIZON for values in drawn.values()), drawn.keys()
    for name, metric in BOUND_METRICS.items():
        expected = {
            row["bucket_start_utc"]: row[metric]
            for row in queried  # the bounds' query, then the actual/forecast query
            if row.get(metric) is not None
        }
        assert drawn[name] == pytest.approx(expected, rel=1e-12), name
    for bucket, high in drawn["95 % high"].items():
        assert high >= drawn["80 % high"][bucket] >= drawn["80 % low"][bucket]
        assert drawn["80 % low"][bucket] >= drawn["95 % low"][bucket]


def test_past_forecasts_are_drawn_over_the_prices_that_followed(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    """The first run's published forecast is one line, named by its first bucket, over the
    actual prices of the same buckets; the second run has no actuals yet and is not drawn."""
    load = dashboard_loads["forecasts"]
    look = look_named(load, PAST_FORECASTS_CHART)
    runs = [series for series in look.series if series.name.startswith("Forecast, from ")]
    assert len(runs) == 1, [series.name for series in look.series]
    assert runs[0].name.endswith(" UTC")
    forecast = drawn_values(runs[0])
    actual = drawn_values(series_named(look, "Actual price"))
    assert len(forecast) == HORIZON
    assert set(forecast) <= set(actual), "a forecast bucket without its actual price"
    queries = load.data[look.chart_id].query_context["queries"]
    assert any(
        {"col": "was_chosen", "op": "IS TRUE"}.items() <= item.items()
        for query in queries
        for item in query["filters"]
    ), "the past forecasts are not limited to the published model"


def test_the_track_record_shows_realised_error_and_coverage_beside_nominal(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    load = dashboard_loads["forecasts"]
    table = look_named(load, TRACK_RECORD_TABLE)
    assert table.headers[:2] == ("Exchange", "Model")
    assert "Inside 80 % interval (nominal 80 %)" in table.headers
    assert "Inside 95 % interval (nominal 95 %)" in table.headers
    assert "Realised MAE / naive MAE (below 1 beats naive)" in table.headers
    rows = load.data[table.chart_id].rows
    assert rows
    naive = [row for row in rows if row["model"] == "Naive"]
    assert naive, rows
    assert all(row["realised_mae_vs_naive"] == pytest.approx(1.0) for row in naive)
    for row in rows:
        assert row["forecasts_scored"] > 0
        assert 0 <= row["realised_coverage_80"] <= row["realised_coverage_95"] <= 1, row


def test_mase_is_explained_on_the_forecasts_dashboard(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    accuracy = look_named(dashboard_loads["forecasts"], "Forecast accuracy")
    assert "MASE (below 1 beats naive)" in accuracy.headers, accuracy.headers
    assert "Inside 80 % interval (test, nominal 0.80)" in accuracy.headers


def test_the_data_quality_view_says_what_was_rejected_per_exchange_and_day_and_why(
    dashboard_loads: dict[str, DashboardLoad],
) -> None:
    load = dashboard_loads["exchange-quality"]
    table = look_named(load, DATA_QUALITY_TABLE)
    assert table.headers == ("Day (UTC)", "Exchange", "What happened", "Why", "Rows")
    rejected = {
        (row["exchange_id"], row["check_label"]): row["rows"]
        for row in load.data[table.chart_id].rows
        if row["check_kind_label"].startswith("Tick quarantined")
    }
    expected: dict[tuple[str, str], int] = {}
    for exchange_id, _symbol, price, count in REJECTED_TICKS:
        reason = "Null price" if price is None else "Non positive price"
        expected[(exchange_id, reason)] = expected.get((exchange_id, reason), 0) + count
    assert rejected == expected
    assert "Null price" in table.text
