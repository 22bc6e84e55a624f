"""`make demo`: the whole pipeline end to end, on real exchanges when reachable, else the sandbox.

Each stage runs as its own process with the same commands a user would type, so the demo is
also a smoke test of the CLIs. Stages: sandbox (when offline) -> collect -> export -> dbt build ->
forecast -> dbt build (forecast marts) -> publish -> Superset.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from extract.sandbox.process import SandboxProcess

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
DBT = str(Path(PY).with_name("dbt"))
DBT_ARGS = ["--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO / "dbt_project")]
# The Makefile's defaults: every stage sees absolute paths, whatever its working directory.
WAREHOUSE_PATHS = {
    "DWH_DUCKDB_PATH": "data/warehouse/build.duckdb",
    "DWH_SERVING_PATH": "data/warehouse/serving.duckdb",
    "DWH_LAKE_DIR": "data/lake",
}
LIVE_PROBE_HOSTS = (("api.binance.com", 443), ("api.kraken.com", 443))


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


def exchanges_reachable(timeout_s: float = 3.0) -> bool:
    for host, port in LIVE_PROBE_HOSTS:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                return True
        except OSError:
            continue
    return False


def run_stage(name: str, command: Sequence[str]) -> None:
    log(f"{name}: {' '.join(command)}")
    started = time.monotonic()
    completed = subprocess.run(command, cwd=REPO, check=False)
    if completed.returncode != 0:
        log(f"{name} failed with exit code {completed.returncode}; stopping the demo")
        raise SystemExit(completed.returncode)
    log(f"{name} done in {time.monotonic() - started:.1f} s")


def run_pipeline(collect_args: list[str], seconds: int, serve: bool) -> None:
    history = ["--backfill-initial-minutes", "1440", "--backfill-max-minutes", "1440"]
    collect = [PY, "-m", "extract", "run", *collect_args, *history, "--duration-s", str(seconds)]
    run_stage("collect", collect)
    run_stage("export", [PY, "-m", "extract", "export", "--hours", "48", "--incremental"])
    # A demo's lake is small: rebuilding the warehouse from it each time costs seconds and keeps
    # `make demo` working after an upgrade that changed an incremental model's columns.
    run_stage("dbt build", [DBT, "build", *DBT_ARGS, "--full-refresh"])
    run_stage("forecast", [PY, "-m", "forecasting"])
    run_stage(
        "dbt build (forecast marts)",
        [DBT, "build", *DBT_ARGS, "--select", "stg_forecast__prices+", "stg_forecast__metrics+"],
    )
    run_stage("publish", [PY, "-m", "tools.publish"])
    run_stage("dashboard import", [PY, "-m", "superset_config.manage", "setup"])
    if serve:
        log("serving Superset on http://127.0.0.1:8088 (Ctrl-C to stop)")
        subprocess.run([PY, "-m", "superset_config.manage", "serve"], cwd=REPO, check=False)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--seconds", type=int, default=90, help="how long to collect (default 90)")
    parser.add_argument("--sandbox-port", type=int, default=8765)
    parser.add_argument(
        "--source",
        choices=("auto", "sandbox", "live"),
        default="auto",
        help="auto: live exchanges when reachable, else the local sandbox",
    )
    parser.add_argument("--no-serve", action="store_true", help="stop after importing dashboards")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    for variable, default in WAREHOUSE_PATHS.items():
        os.environ.setdefault(variable, str(REPO / default))
    Path(os.environ["DWH_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    source = args.source
    if source == "auto":
        source = "live" if exchanges_reachable() else "sandbox"
        log(f"exchanges {'reachable' if source == 'live' else 'unreachable'}: using {source}")
    if source == "live":
        live_exchanges = "binance,kraken,coinbase,okx"
        run_pipeline(["--exchanges", live_exchanges], args.seconds, not args.no_serve)
        return 0
    with SandboxProcess(port=args.sandbox_port) as sandbox:
        log(f"sandbox serving at {sandbox.url}")
        run_pipeline(["--sandbox", sandbox.url], args.seconds, not args.no_serve)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
