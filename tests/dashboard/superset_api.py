"""A logged-in client of Superset's REST API (JWT plus CSRF token), and a browser session.

Shared by the dashboard tests and ``bench/dashboard.py``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

REQUEST_TIMEOUT_S = 60.0
# Debian's package by default; CHROMIUM_PATH (the Makefile's, or the user's) names another one.
CHROMIUM = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
VIEWPORT: ViewportSize = {"width": 1440, "height": 1000}


class SupersetApi:
    """``requests`` session authenticated as one user, sending the CSRF token on writes."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        response = self.session.post(
            f"{base_url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=REQUEST_TIMEOUT_S,
        )
        response.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        csrf = self.get("/api/v1/security/csrf_token/").json()["result"]
        self.session.headers.update({"X-CSRFToken": csrf, "Referer": base_url})

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}{path}", params=params, timeout=REQUEST_TIMEOUT_S)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.base_url}{path}", json=body, timeout=REQUEST_TIMEOUT_S)

    def database_id(self, name: str) -> int:
        query = json.dumps({"filters": [{"col": "database_name", "opr": "eq", "value": name}]})
        rows = self.get("/api/v1/database/", q=query).json()["result"]
        if len(rows) != 1:
            raise LookupError(f"expected one database named {name!r}, found {len(rows)}")
        return int(rows[0]["id"])

    def run_sql(self, database_id: int, sql: str) -> requests.Response:
        """Execute ``sql`` synchronously in SQL Lab, as a user typing it would."""
        return self.post(
            "/api/v1/sqllab/execute/",
            {
                "database_id": database_id,
                "sql": sql,
                "runAsync": False,
                "schema": "marts",
                "tab": "test",
                "client_id": f"t{time.monotonic_ns() % 10**9}",
                "queryLimit": 100,
            },
        )

    def chart_data(self, query_context: dict[str, Any]) -> requests.Response:
        return self.post("/api/v1/chart/data", query_context)


@dataclass(frozen=True)
class DashboardInfo:
    slug: str
    title: str
    chart_ids: tuple[int, ...]


def dashboards(api: SupersetApi) -> list[DashboardInfo]:
    infos = []
    for row in api.get("/api/v1/dashboard/").json()["result"]:
        charts = api.get(f"/api/v1/dashboard/{row['id']}/charts").json()["result"]
        infos.append(
            DashboardInfo(
                slug=row["slug"],
                title=row["dashboard_title"],
                chart_ids=tuple(sorted(int(chart["id"]) for chart in charts)),
            )
        )
    return infos


@contextmanager
def chromium() -> Iterator[tuple[Playwright, Browser]]:
    """The system Chromium (``CHROMIUM_PATH``, else Debian's), headless, driven by playwright
    (never a downloaded browser)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield playwright, browser
        finally:
            browser.close()


def logged_in_page(browser: Browser, base_url: str, username: str, password: str) -> Page:
    page = browser.new_page(viewport=VIEWPORT)
    page.set_default_timeout(60_000)
    page.goto(f"{base_url}/login/")
    page.fill("#username", username)
    page.fill("input[type=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url("**/superset/welcome/**")
    return page
