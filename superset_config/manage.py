"""`make dashboard` / `make superset`: set Superset up from git and serve it.

python -m superset_config.manage setup   # metadata DB, admin user, roles, dashboards
python -m superset_config.manage serve   # gunicorn on 127.0.0.1:8088 until Ctrl-C
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from superset_config.server import (
    SupersetCommandError,
    setup_all,
    start_server,
    stop_server,
    wait_until_healthy,
)
from superset_config.settings import SupersetSettings, settings_from_environment


def log(message: str) -> None:
    print(f"[superset] {message}", flush=True)


def setup(settings: SupersetSettings, generated: list[str]) -> None:
    if not settings.serving_path.exists():
        log(
            f"warning: {settings.serving_path} does not exist yet; charts stay empty until "
            "`make build publish` creates it"
        )
    log(f"initialising {settings.home} and importing superset_config/bundle/ (about a minute)")
    setup_all(settings)
    if "SUPERSET_ADMIN_PASSWORD" in generated:
        # Shown this once; it is kept only in the untracked superset_config/.env.
        print(
            f"Superset admin user '{settings.admin_username}', generated password: "
            f"{settings.admin_password}",
            flush=True,
        )
    log("done: `make superset` serves them on http://127.0.0.1:8088")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def serve(settings: SupersetSettings, host: str, port: int, workers: int) -> None:
    """Serve until Ctrl-C or SIGTERM; either way gunicorn is stopped before this returns."""
    signal.signal(signal.SIGTERM, _interrupt)
    process = start_server(settings, host, port, workers)
    base_url = f"http://{host}:{port}"
    try:
        wait_until_healthy(base_url, process)
        log(f"serving on {base_url} (log: {settings.home / 'superset-server.log'}); Ctrl-C stops")
        process.wait()
    except KeyboardInterrupt:
        log("stopping")
    finally:
        # a second Ctrl-C or SIGTERM must not cut the stop short and leave gunicorn running
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_server(process)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m superset_config.manage", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="initialise Superset and import the dashboards from git")
    serve_parser = commands.add_parser("serve", help="serve Superset with gunicorn")
    serve_parser.add_argument("--host", default=os.environ.get("SUPERSET_HOST", "127.0.0.1"))
    serve_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SUPERSET_PORT", "8088"))
    )
    serve_parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("SUPERSET_WORKERS", "2"))
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    settings, generated = settings_from_environment(os.environ)
    try:
        if args.command == "setup":
            setup(settings, generated)
        else:
            serve(settings, args.host, args.port, args.workers)
    except SupersetCommandError as error:
        print(f"[superset] error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
