"""`make screenshots`: the dashboard pictures in docs/img/, taken from a running Superset.

Run after `make demo` (or `make superset`) while Superset serves: logs in as the admin user
(password from the environment or superset_config/.env, as `make dashboard` keeps it), opens each
dashboard in the system Chromium (``CHROMIUM_PATH``, else /usr/bin/chromium) at 1440 px, waits
until every chart drew (a canvas, table rows or Superset's "No results" state; no loading
spinner, no error panel) and saves
``docs/img/dashboard_<slug>.png``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from superset_config.settings import settings_from_environment

REPO = Path(__file__).resolve().parent.parent
IMAGE_DIR = REPO / "docs" / "img"
DASHBOARDS = ("market-overview", "exchange-quality", "forecasts")

RENDER_TIMEOUT_S = 120.0
ANIMATION_MS = 1500
CHROMIUM_FLAGS = ("--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run")

# True once every chart on the page shows something (or Superset's empty state: a fresh demo has
# no past forecast with actual prices yet) and none is loading or in error.
_ALL_DRAWN_JS = """
() => {
    const charts = Array.from(document.querySelectorAll('[data-test="chart-grid-component"]'));
    return charts.length > 0 && charts.every(el =>
        (el.querySelector('canvas') || el.querySelector('tbody tr')
         || el.innerText.includes('No results were returned'))
        && !el.querySelector('[data-test="loading-indicator"], .loading')
        && !el.querySelector('.ant-alert-error'))
        && !document.body.innerText.includes('Loading filter values');
}
"""


class ScreenshotError(RuntimeError):
    """A dashboard did not draw in time, or Superset refused the login."""


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/login/")
    page.fill("#username", username)
    page.fill("input[type=password]", password)
    page.keyboard.press("Enter")
    try:
        page.wait_for_url("**/superset/welcome/**", timeout=RENDER_TIMEOUT_S * 1000)
    except Exception as error:
        raise ScreenshotError(f"could not log in to {base_url} as {username}") from error


def capture(page: Page, base_url: str, slug: str, target: Path) -> None:
    page.goto(f"{base_url}/superset/dashboard/{slug}/")
    try:
        page.wait_for_function(_ALL_DRAWN_JS, timeout=RENDER_TIMEOUT_S * 1000)
    except Exception as error:
        raise ScreenshotError(
            f"{slug}: not every chart drew within {RENDER_TIMEOUT_S:.0f} s"
        ) from (error)
    page.wait_for_timeout(ANIMATION_MS)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8088", help="the running Superset")
    parser.add_argument("--output-dir", type=Path, default=IMAGE_DIR)
    parser.add_argument("dashboards", nargs="*", default=list(DASHBOARDS), help="slugs")
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    settings, _generated = settings_from_environment(os.environ)
    chromium = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    started = time.monotonic()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=list(CHROMIUM_FLAGS), headless=True
            )
            try:
                page = browser.new_page(viewport={"width": 1440, "height": 1500})
                log_in(page, args.url, settings.admin_username, settings.admin_password)
                for slug in args.dashboards:
                    target = args.output_dir / f"dashboard_{slug.replace('-', '_')}.png"
                    capture(page, args.url, slug, target)
                    print(f"[screenshots] {target}", flush=True)
            finally:
                browser.close()
    except ScreenshotError as error:
        print(f"[screenshots] error: {error}", file=sys.stderr)
        return 1
    print(f"[screenshots] done in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
