"""`make refresh` / `python -m tools.refresh`: one refresh cycle of the warehouse.

1. export: the landing databases' new rows to the lake (``python -m extract export
   --incremental``, what ``make export`` runs);
2. build: ``dbt build`` (incremental; unit tests excluded, ``make build`` runs them);
3. forecast, when due (``--forecast-every-minutes``, default 60, since the last successful
   forecast): ``python -m forecasting``, then ``dbt build`` of the models that read the forecast
   tables;
4. publish: ``python -m tools.publish``, which checks the last dbt build's run results first.

Every step is a subprocess; the first that fails ends the cycle with its exit status and nothing
is published (Superset keeps the last good warehouse). Each step prints what it runs and how long
it took; the cycle ends with the freshness of what is now served: the age of the newest usable
tick in the published warehouse.

A lock file beside the warehouse (``refresh.lock``) keeps two cycles from overlapping: a second
one exits at once with status 75 (EX_TEMPFAIL) and says so. The time of the last forecast is
kept beside it in ``refresh_state.json``. Before each dbt build the previous
``run_results.json`` is removed, so a dbt killed midway leaves none and publish refuses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import duckdb

from extract.export.files import write_json_atomic
from extract.export.options import DEFAULT_LAKE_DIR, LAKE_DIR_ENV, default_input_glob
from extract.lockfile import LockBusy, exclusive_lock
from extract.timeutil import utc_now
from tools.build_status import DBT_PROJECT_DIR, default_run_results_path
from tools.publish import (
    BUILD_PATH_ENV,
    SERVING_PATH_ENV,
    build_path_from_env,
    serving_path_from_env,
)

EXIT_BUSY: Final = 75  # EX_TEMPFAIL: another cycle holds the lock; try again later
LOCK_FILE: Final = "refresh.lock"
STATE_FILE: Final = "refresh_state.json"
DEFAULT_FORECAST_EVERY_MINUTES: Final = 60.0
DBT: Final = str(Path(sys.executable).with_name("dbt"))
DBT_BUILD: Final = (
    DBT,
    "build",
    "--project-dir",
    str(DBT_PROJECT_DIR),
    "--profiles-dir",
    str(DBT_PROJECT_DIR),
    "--exclude",
    "resource_type:unit_test",
)
FORECAST_MARTS: Final = ("stg_forecast__runs+", "stg_forecast__prices+", "stg_forecast__metrics+")
# Newest usable tick (not quarantined) of the published warehouse.
NEWEST_TICK_SQL: Final = (
    "select max(ingestion_ts_utc) from staging.stg_lake__market_ticks "
    "where rejection_reason is null"
)


@dataclass(frozen=True)
class Paths:
    """Where one cycle reads and writes; absolute, and handed to every step's environment."""

    lake_dir: Path
    build_path: Path
    serving_path: Path
    run_results: Path

    @property
    def lock_path(self) -> Path:
        return self.build_path.parent / LOCK_FILE

    @property
    def state_path(self) -> Path:
        return self.build_path.parent / STATE_FILE

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            LAKE_DIR_ENV: str(self.lake_dir),
            BUILD_PATH_ENV: str(self.build_path),
            SERVING_PATH_ENV: str(self.serving_path),
        }


def paths_from_env() -> Paths:
    return Paths(
        lake_dir=Path(os.environ.get(LAKE_DIR_ENV) or DEFAULT_LAKE_DIR).resolve(),
        build_path=build_path_from_env().resolve(),
        serving_path=serving_path_from_env().resolve(),
        run_results=default_run_results_path().resolve(),
    )


class StepFailed(Exception):
    """A step exited with a non-zero status (or a signal: status 1, the signal named)."""

    def __init__(self, step: str, returncode: int) -> None:
        how = f"exit status {returncode}" if returncode > 0 else f"signal {-returncode}"
        super().__init__(f"{step} failed with {how}")
        self.exit_code = returncode if returncode > 0 else 1


def say(message: str) -> None:
    print(f"[refresh] {message}", flush=True)


def run_step(name: str, command: Sequence[str], paths: Paths) -> None:
    say(f"{name}: {' '.join(command)}")
    started = time.perf_counter()
    returncode = subprocess.run(command, env=paths.environment(), check=False).returncode
    seconds = time.perf_counter() - started
    if returncode != 0:
        failure = StepFailed(name, returncode)
        say(f"{failure} after {seconds:.1f} s")
        raise failure
    say(f"{name}: done in {seconds:.1f} s")


def run_dbt_build(name: str, extra: Sequence[str], paths: Paths) -> None:
    paths.run_results.unlink(missing_ok=True)  # a dbt killed midway must not leave a stale one
    run_step(name, [*DBT_BUILD, *extra], paths)


def last_forecast(state_path: Path) -> datetime | None:
    if not state_path.is_file():
        return None
    try:
        text = json.loads(state_path.read_text(encoding="utf-8"))["last_forecast_utc"]
        return datetime.fromisoformat(str(text))
    except (OSError, ValueError, KeyError, TypeError) as error:
        say(f"forecast: cannot read {state_path} ({error}); forecasting now")
        return None


def next_forecast(state_path: Path, every: timedelta) -> datetime | None:
    """When the next forecast is due; None when there was none yet."""
    last = last_forecast(state_path)
    return None if last is None else last + every


def newest_tick(serving_path: Path) -> datetime | None:
    with duckdb.connect(str(serving_path), read_only=True) as connection:
        row = connection.execute(NEWEST_TICK_SQL).fetchone()
    return None if row is None else row[0]


def report_freshness(serving_path: Path) -> None:
    try:
        newest = newest_tick(serving_path)
    except duckdb.Error as error:
        say(f"freshness: cannot read the newest tick of {serving_path}: {error}")
        return
    if newest is None:
        say("freshness: the published warehouse holds no usable tick yet")
        return
    age = (utc_now() - newest).total_seconds()
    say(f"freshness: newest tick {newest.isoformat()}, {age:.0f} s old")


def run_cycle(paths: Paths, input_glob: str, forecast_every: timedelta) -> None:
    """The four steps, in order; raises StepFailed at the first that fails."""
    run_step(
        "export",
        [sys.executable, "-m", "extract", "export", "--incremental", "--input-glob", input_glob],
        paths,
    )
    run_dbt_build("build", [], paths)
    due, now = next_forecast(paths.state_path, forecast_every), utc_now()
    if due is None or due <= now:
        run_step("forecast", [sys.executable, "-m", "forecasting"], paths)
        run_dbt_build("build forecast marts", ["--select", *FORECAST_MARTS], paths)
        write_json_atomic(paths.state_path, {"last_forecast_utc": now.isoformat()})
    else:
        minutes = (due - now).total_seconds() / 60
        say(f"forecast: not due (next at {due.isoformat()}, in {minutes:.0f} min)")
    run_step(
        "publish",
        [sys.executable, "-m", "tools.publish", "--run-results", str(paths.run_results)],
        paths,
    )


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.refresh",
        description="One refresh cycle: export, dbt build, forecast when due, publish. Paths "
        f"from {LAKE_DIR_ENV}, {BUILD_PATH_ENV}, {SERVING_PATH_ENV} and DBT_TARGET_PATH.",
    )
    parser.add_argument(
        "--forecast-every-minutes",
        type=float,
        default=DEFAULT_FORECAST_EVERY_MINUTES,
        help="forecast when the last successful forecast is at least this old "
        f"(default {DEFAULT_FORECAST_EVERY_MINUTES:g}; 0: every cycle)",
    )
    parser.add_argument(
        "--input-glob",
        default=default_input_glob(),
        help=f"landing databases to export (default {default_input_glob()}, as the export's)",
    )
    args = parser.parse_args(argv)
    if args.forecast_every_minutes < 0:
        parser.error("--forecast-every-minutes must be >= 0")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    paths = paths_from_env()
    started = time.perf_counter()
    try:
        with exclusive_lock(paths.lock_path):
            run_cycle(paths, args.input_glob, timedelta(minutes=args.forecast_every_minutes))
    except LockBusy:
        say(
            f"another refresh cycle is running (lock {paths.lock_path} is held); "
            "this one did nothing"
        )
        return EXIT_BUSY
    except StepFailed as failure:
        say(
            f"{failure}: cycle stopped after {time.perf_counter() - started:.1f} s, nothing "
            "published (the serving file is unchanged)"
        )
        return failure.exit_code
    except KeyboardInterrupt:
        say("interrupted: cycle stopped (the serving file changes only when publish completes)")
        return 130
    say(f"cycle done in {time.perf_counter() - started:.1f} s")
    report_freshness(paths.serving_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
