"""`make refresh`: one refresh cycle, the job a 5-minute timer runs next to the collector.

export (incremental) -> dbt build (incremental, unit tests left to CI) -> forecast and the
forecast marts (when ``--forecast-every-minutes`` have passed since the last forecast) ->
publish. Each step runs as its own process with the command a user would type; the cycle prints
what each did and how long it took, then the freshness of the published data (the age of the
newest usable tick). The first failing step ends the cycle with its exit code and nothing is
published, so the dashboards keep the previous build. A lock beside the build file makes a
second cycle that starts while one runs exit at once (exit code 75) instead of queueing.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from tools.build_check import default_run_results

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
DBT = str(Path(PY).with_name("dbt"))
DBT_ARGS = ("--project-dir", str(REPO / "dbt_project"), "--profiles-dir", str(REPO / "dbt_project"))
DEFAULT_BUILD_PATH = REPO / "data" / "warehouse" / "build.duckdb"
DEFAULT_SERVING_PATH = REPO / "data" / "warehouse" / "serving.duckdb"
DEFAULT_LAKE_DIR = REPO / "data" / "lake"
DEFAULT_LANDING_GLOB = "data/landing/worker_*.sqlite"
EXIT_ALREADY_RUNNING = 75  # EX_TEMPFAIL: the timer's next run tries again


class CycleAlreadyRunning(RuntimeError):
    """Another refresh cycle holds the lock."""


@dataclass(frozen=True)
class Step:
    name: str
    command: tuple[str, ...]


def log(message: str) -> None:
    print(f"[refresh] {message}", flush=True)


@contextmanager
def cycle_lock(build_path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock on ``<build file>.refresh.lock`` for the whole cycle."""
    lock_path = build_path.with_name(build_path.name + ".refresh.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise CycleAlreadyRunning(
                f"another refresh cycle is running (pid {holder}, lock {lock_path})"
            ) from error
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


class ForecastCadence:
    """When the last forecast ran, kept in ``<build file>.refresh.json``."""

    def __init__(self, build_path: Path, every: timedelta) -> None:
        self._path = build_path.with_name(build_path.name + ".refresh.json")
        self._every = every

    def last_forecast(self) -> datetime | None:
        try:
            state = json.loads(self._path.read_text(encoding="utf-8"))
            return datetime.fromisoformat(state["last_forecast_utc"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def is_due(self, now: datetime) -> bool:
        last = self.last_forecast()
        return last is None or now - last >= self._every

    def record(self, moment: datetime) -> None:
        temporary = self._path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps({"last_forecast_utc": moment.isoformat()}) + "\n")
        os.replace(temporary, self._path)


def cycle_steps(forecast: bool, landing_glob: str, run_results: Path) -> list[Step]:
    steps = [
        Step(
            "export", (PY, "-m", "extract", "export", "--incremental", "--input-glob", landing_glob)
        ),
        Step("dbt build", (DBT, "build", *DBT_ARGS, "--exclude", "resource_type:unit_test")),
    ]
    if forecast:
        steps += [
            Step("forecast", (PY, "-m", "forecasting")),
            Step(
                "dbt build (forecast marts)",
                (
                    DBT,
                    "build",
                    *DBT_ARGS,
                    "--exclude",
                    "resource_type:unit_test",
                    "--select",
                    "stg_forecast__prices+",
                    "stg_forecast__metrics+",
                ),
            ),
        ]
    steps.append(Step("publish", (PY, "-m", "tools.publish", "--run-results", str(run_results))))
    return steps


def child_environment(args: argparse.Namespace) -> dict[str, str]:
    """Every step sees the same absolute paths, whatever its working directory."""
    lake_dir = Path(os.environ.get("DWH_LAKE_DIR", str(DEFAULT_LAKE_DIR)))
    return os.environ | {
        "DWH_DUCKDB_PATH": str(args.build_path.resolve()),
        "DWH_SERVING_PATH": str(args.serving_path.resolve()),
        "DWH_LAKE_DIR": str(lake_dir.resolve()),
    }


def run_step(step: Step, environment: dict[str, str]) -> int:
    log(f"{step.name}: {' '.join(step.command)}")
    started = time.monotonic()
    returncode = subprocess.run(step.command, env=environment, cwd=REPO, check=False).returncode
    seconds = time.monotonic() - started
    if returncode == 0:
        log(f"{step.name}: done in {seconds:.1f} s")
    else:
        log(f"{step.name}: failed with exit code {returncode} after {seconds:.1f} s")
    return returncode


def newest_tick_age(serving_path: Path, now: datetime) -> timedelta | None:
    """How old the newest usable tick in the published warehouse is (None when it has none)."""
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        row = connection.execute(
            "select max(ingestion_ts_utc) from staging.stg_lake__market_ticks"
            " where rejection_reason is null"
        ).fetchone()
    newest = row[0] if row else None
    return None if newest is None else now - newest


def refresh(args: argparse.Namespace) -> int:
    started = datetime.now(UTC)
    cadence = ForecastCadence(args.build_path, timedelta(minutes=args.forecast_every_minutes))
    forecast = not args.no_forecast and cadence.is_due(started)
    if not forecast:
        last = cadence.last_forecast()
        log(f"forecast: not due (last {last.isoformat() if last else 'never'}, skipped)")
    environment = child_environment(args)
    for step in cycle_steps(forecast, args.landing_glob, args.run_results):
        returncode = run_step(step, environment)
        if returncode != 0:
            log("cycle failed: nothing published; the dashboards keep the previous build")
            return returncode
        if step.name == "forecast":
            cadence.record(started)
    age = newest_tick_age(args.serving_path, datetime.now(UTC))
    seconds = (datetime.now(UTC) - started).total_seconds()
    freshness = (
        "no usable tick yet" if age is None else f"newest tick {age.total_seconds():.0f} s old"
    )
    log(f"cycle done in {seconds:.1f} s; published data: {freshness}")
    return 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.refresh", description=__doc__)
    parser.add_argument(
        "--forecast-every-minutes",
        type=float,
        default=60.0,
        help="forecast when this long has passed since the last forecast (default 60; 0: always)",
    )
    parser.add_argument("--no-forecast", action="store_true", help="never forecast this cycle")
    parser.add_argument(
        "--landing-glob",
        default=os.environ.get("DWH_LANDING_GLOB", DEFAULT_LANDING_GLOB),
        help=f"landing databases to export (env DWH_LANDING_GLOB; default {DEFAULT_LANDING_GLOB}, "
        "relative to the repository)",
    )
    parser.add_argument(
        "--build-path",
        type=Path,
        default=Path(os.environ.get("DWH_DUCKDB_PATH", str(DEFAULT_BUILD_PATH))),
        help="the file dbt builds (env DWH_DUCKDB_PATH); the lock and state files sit beside it",
    )
    parser.add_argument(
        "--serving-path",
        type=Path,
        default=Path(os.environ.get("DWH_SERVING_PATH", str(DEFAULT_SERVING_PATH))),
        help="the file Superset reads (env DWH_SERVING_PATH)",
    )
    parser.add_argument(
        "--run-results",
        type=Path,
        default=default_run_results(),
        help="dbt's run_results.json, checked before publishing",
    )
    args = parser.parse_args(argv)
    if args.forecast_every_minutes < 0:
        parser.error("--forecast-every-minutes must be 0 or more")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    try:
        with cycle_lock(args.build_path):
            return refresh(args)
    except CycleAlreadyRunning as error:
        log(f"not started: {error}")
        return EXIT_ALREADY_RUNNING


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
