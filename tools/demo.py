"""`make demo`: the whole pipeline end to end on the local sandbox (live exchanges only when asked).

The source is the sandbox unless ``--source live`` or ``DEMO_SOURCE=live`` says otherwise: a demo
never switches to the internet by itself. Each stage runs as its own process with the same
commands a user would type, so the demo is also a smoke test of the CLIs. Stages: sandbox (unless
live) -> collect -> export -> dbt build -> forecast -> dbt build (forecast marts) -> publish ->
Superset.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from extract.exchanges import EXCHANGES
from extract.sandbox.process import SandboxProcess
from tools.refresh import FORECAST_MARTS

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
SOURCE_ENV = "DEMO_SOURCE"
SOURCES = ("sandbox", "live")
LIVE_EXCHANGES = ",".join(EXCHANGES)
# How long a stage may take to stop cleanly (the collector drains, Superset stops gunicorn).
STAGE_STOP_TIMEOUT_S = 60.0
EXIT_TERMINATED = 128 + signal.SIGTERM


def log(message: str) -> None:
    print(f"[demo] {message}", flush=True)


class StageRunner:
    """Runs the stages one at a time. Ctrl-C reaches the running stage by itself (same process
    group); a SIGTERM sent to the demo alone is passed on to it. Either way the stage gets
    STAGE_STOP_TIMEOUT_S to stop cleanly (the collector commits what it received, Superset stops
    its gunicorn) before it is killed, no later stage starts, and the demo's own ``with`` blocks
    (the sandbox) unwind."""

    def __init__(self) -> None:
        self._running: subprocess.Popen[bytes] | None = None
        self._terminated = False
        signal.signal(signal.SIGTERM, self._on_sigterm)
        # A shell starts a script's background jobs with SIGINT ignored, and Python then leaves
        # it ignored: the collector would stop on Ctrl-C (it installs its own handler) while the
        # demo went on to the next stage.
        signal.signal(signal.SIGINT, signal.default_int_handler)

    def _on_sigterm(self, signum: int, frame: FrameType | None) -> None:
        self._terminated = True
        if self._running is not None and self._running.poll() is None:
            self._running.terminate()

    def run(self, name: str, command: Sequence[str]) -> int:
        """Run a stage to its end and return its exit code; SystemExit once the demo is told
        to stop."""
        if self._terminated:
            raise SystemExit(EXIT_TERMINATED)
        self._running = subprocess.Popen(command, cwd=REPO)
        if self._terminated:  # the SIGTERM came while the stage was starting
            self._running.terminate()
        try:
            return self._running.wait()
        except KeyboardInterrupt:
            log(f"{name}: interrupted, waiting for it to stop")
            self._stop_running()
            raise
        finally:
            if self._terminated:
                log(f"{name}: SIGTERM, waiting for it to stop")
                self._stop_running()
                raise SystemExit(EXIT_TERMINATED)

    def _stop_running(self) -> None:
        assert self._running is not None
        try:
            self._running.wait(STAGE_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            log(f"still running after {STAGE_STOP_TIMEOUT_S:.0f} s: killing it")
            self._running.kill()
            self._running.wait()


def run_stage(stages: StageRunner, name: str, command: Sequence[str]) -> None:
    log(f"{name}: {' '.join(command)}")
    started = time.monotonic()
    returncode = stages.run(name, command)
    if returncode != 0:
        log(f"{name} failed with exit code {returncode}; stopping the demo")
        raise SystemExit(returncode)
    log(f"{name} done in {time.monotonic() - started:.1f} s")


def run_pipeline(stages: StageRunner, collect_args: list[str], seconds: int, serve: bool) -> None:
    history = ["--backfill-initial-minutes", "1440", "--backfill-max-minutes", "1440"]
    collect = [PY, "-m", "extract", "run", *collect_args, *history, "--duration-s", str(seconds)]
    run_stage(stages, "collect", collect)
    run_stage(stages, "export", [PY, "-m", "extract", "export", "--hours", "48", "--incremental"])
    # A demo's lake is small: rebuilding the warehouse from it each time costs seconds and keeps
    # `make demo` working after an upgrade that changed an incremental model's columns.
    run_stage(stages, "dbt build", [DBT, "build", *DBT_ARGS, "--full-refresh"])
    run_stage(stages, "forecast", [PY, "-m", "forecasting"])
    run_stage(
        stages,
        "dbt build (forecast marts)",
        [DBT, "build", *DBT_ARGS, "--select", *FORECAST_MARTS],
    )
    run_stage(stages, "publish", [PY, "-m", "tools.publish"])
    run_stage(stages, "dashboard import", [PY, "-m", "superset_config.manage", "setup"])
    if serve:
        log("serving Superset on http://127.0.0.1:8088 (Ctrl-C to stop)")
        stages.run("Superset", [PY, "-m", "superset_config.manage", "serve"])


def parse_args(argv: Sequence[str], environ: dict[str, str] | None = None) -> argparse.Namespace:
    environ = dict(os.environ) if environ is None else environ
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__)
    parser.add_argument("--seconds", type=int, default=90, help="how long to collect (default 90)")
    parser.add_argument("--sandbox-port", type=int, default=8765)
    parser.add_argument(
        "--source",
        choices=SOURCES,
        default=environ.get(SOURCE_ENV) or "sandbox",
        help=f"sandbox (default; ${SOURCE_ENV} overrides it): the local fake exchanges, no "
        f"internet; live: {LIVE_EXCHANGES} over the internet",
    )
    parser.add_argument("--no-serve", action="store_true", help="stop after importing dashboards")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.source not in SOURCES:
        parser.error(f"${SOURCE_ENV} must be one of {', '.join(SOURCES)}, got {args.source!r}")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    for variable, default in WAREHOUSE_PATHS.items():
        os.environ.setdefault(variable, str(REPO / default))
    Path(os.environ["DWH_DUCKDB_PATH"]).parent.mkdir(parents=True, exist_ok=True)
    stages = StageRunner()
    if args.source == "live":
        log(f"source: live exchanges {LIVE_EXCHANGES} (--source live)")
        run_pipeline(stages, ["--exchanges", LIVE_EXCHANGES], args.seconds, not args.no_serve)
        return 0
    log("source: the local sandbox (--source live or DEMO_SOURCE=live for real exchanges)")
    with SandboxProcess(port=args.sandbox_port) as sandbox:
        log(f"sandbox serving at {sandbox.url}")
        run_pipeline(stages, ["--sandbox", sandbox.url], args.seconds, not args.no_serve)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        log("stopped by Ctrl-C")
        sys.exit(128 + signal.SIGINT)
