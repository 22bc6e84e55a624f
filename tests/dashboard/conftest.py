"""One real Superset per test session, serving the dashboards over a real dbt-built warehouse.

While the pipeline (synthetic lake -> dbt -> forecasting -> publish) builds the warehouse, a
thread sets Superset up in its own SUPERSET_HOME under tmp (metadata DB, admin user, import of
the YAML bundle) and starts gunicorn on a free port of 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from superset_config.server import (
    check_admin_output,
    finish_commands,
    setup_commands,
    start_commands,
    start_server,
    stop_server,
    wait_until_healthy,
)
from superset_config.settings import SupersetSettings, new_secret, superset_venv
from tests.dashboard.dashboard_page import DashboardLoad, open_dashboard, save_screenshot
from tests.dashboard.metadata_cache import initialise_and_cache, restore_initialised_metadata
from tests.dashboard.superset_api import (
    DashboardInfo,
    SupersetApi,
    chromium,
    dashboards,
    logged_in_page,
)
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


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_superset(
    settings: SupersetSettings, log_path: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Set up Superset in ``settings.home`` (reusing a cached initialisation) and serve it."""
    if not restore_initialised_metadata(settings):
        initialise_and_cache(settings)
    output = finish_commands(
        settings, start_commands(settings, setup_commands(settings, initialise=False))
    )
    assert check_admin_output(settings, output), "a fresh SUPERSET_HOME must get a new admin"
    port = free_port()
    process = start_server(settings, "127.0.0.1", port, workers=1, log_path=log_path)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
    except BaseException:
        stop_server(process)
        raise
    return process, base_url


@pytest.fixture(scope="session")
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


@pytest.fixture(scope="session")
def api(superset: RunningSuperset) -> SupersetApi:
    return SupersetApi(
        superset.base_url, superset.settings.admin_username, superset.settings.admin_password
    )


@pytest.fixture(scope="session")
def dashboard_infos(api: SupersetApi) -> dict[str, DashboardInfo]:
    return {info.slug: info for info in dashboards(api)}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with chromium() as (_playwright, launched):
        yield launched


@pytest.fixture(scope="session")
def page(browser: Browser, superset: RunningSuperset) -> Iterator[Page]:
    logged_in = logged_in_page(
        browser,
        superset.base_url,
        superset.settings.admin_username,
        superset.settings.admin_password,
    )
    yield logged_in
    logged_in.close()


@pytest.fixture(scope="session")
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
