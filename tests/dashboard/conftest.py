"""One real Superset per test session, serving the dashboards over a real dbt-built warehouse.

While the pipeline (synthetic lake -> dbt -> forecasting -> publish) builds the warehouse, a
thread sets Superset up in its own SUPERSET_HOME under tmp (metadata DB, admin user, import of
the YAML bundle) and starts gunicorn on a free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from superset_config.server import stop_server
from superset_config.settings import SupersetSettings, new_secret, superset_venv
from tests.dashboard.dashboard_page import DashboardLoad, open_dashboard, save_screenshot
from tests.dashboard.superset_api import (
    DashboardInfo,
    SupersetApi,
    chromium,
    dashboards,
    logged_in_page,
)
from tests.dashboard.superset_process import start_superset
from tests.dashboard.warehouse_pipeline import DashboardWarehouse, create_dashboard_warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-output" / "screenshots"
DASHBOARD_SLUGS = ("market-overview", "exchange-quality", "forecasts")


@dataclass(frozen=True)
class RunningSuperset:
    base_url: str
    settings: SupersetSettings
    warehouse: DashboardWarehouse
    log_path: Path


@pytest.fixture(scope="package")
def superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSuperset]:
    """Superset set up and started in a thread while this thread builds the warehouse."""
    root = tmp_path_factory.mktemp("superset")
    settings = SupersetSettings(
        home=root / "home",
        secret_key=new_secret(),
        admin_password=new_secret(),
        serving_path=root / "warehouse" / "serving.duckdb",
        superset_venv=superset_venv({}),
    )
    log_path = root / "superset-server.log"
    with ThreadPoolExecutor(max_workers=1) as executor:
        starting = executor.submit(start_superset, settings, log_path)
        try:
            warehouse = create_dashboard_warehouse(root)
        except BaseException:
            with contextlib.suppress(Exception):
                stop_server(starting.result()[0])
            raise
        process, base_url = starting.result()
    try:
        assert warehouse.serving_path == settings.serving_path
        yield RunningSuperset(base_url, settings, warehouse, log_path)
    finally:
        stop_server(process)


@pytest.fixture(scope="package")
def api(superset: RunningSuperset) -> SupersetApi:
    return SupersetApi(
        superset.base_url, superset.settings.admin_username, superset.settings.admin_password
    )


@pytest.fixture(scope="package")
def dashboard_infos(api: SupersetApi) -> dict[str, DashboardInfo]:
    return {info.slug: info for info in dashboards(api)}


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with chromium() as (_playwright, launched):
        yield launched


@pytest.fixture(scope="package")
def page(browser: Browser, superset: RunningSuperset) -> Iterator[Page]:
    logged_in = logged_in_page(
        browser,
        superset.base_url,
        superset.settings.admin_username,
        superset.settings.admin_password,
    )
    yield logged_in
    logged_in.close()


@pytest.fixture(scope="package")
def dashboard_loads(
    page: Page, superset: RunningSuperset, dashboard_infos: dict[str, DashboardInfo]
) -> dict[str, DashboardLoad]:
    """Each dashboard opened once in Chromium, with its charts' data and a screenshot."""
    loads = {}
    for slug in DASHBOARD_SLUGS:
        load = open_dashboard(page, superset.base_url, slug, set(dashboard_infos[slug].chart_ids))
        save_screenshot(page, SCREENSHOT_DIR / f"{slug}.png")
        loads[slug] = load
    return loads
