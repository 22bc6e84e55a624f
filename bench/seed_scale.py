"""Benchmark: the warehouse at a real market's volume (docs/performance.md, "Seed scale").

A lake shaped like the original system's load (bench/seed_lake.py: 17 exchanges x 300 markets,
bursty rates, gaps, duplicates) is built with the real dbt CLI, at ``scale`` x 15 million ticks a
day and, side by side in the same run, at a tenth of that, so the growth is visible. Each build is
the one a refresh cycle runs (tools/refresh.py: `dbt build` without the unit tests, which test
the SQL on fixed fixtures and cost the same at any volume; `make build` runs them):

(a) a full build of one day;
(b) an incremental build of one more hour with 1 day and with ``history_days`` days already built;
(c) one refresh cycle (`python -m tools.refresh`: export, incremental build, publish) for the next
    5 minutes of data, landed as the collector lands it (SQLite per worker); the forecast is not
    due in it, as in 11 of every 12 cycles at the default hourly cadence;
(d) the peak RSS of each (the process tree, sampled every 0.1 s).

`make bench` runs it at ``--scale 1`` (15 million ticks a day); ``--scale 10`` is the seed's 150
million ticks a day. Generating the data is timed apart and never counted.

    .venv/bin/python -m bench.seed_scale [--scale 10] [--history-days 7]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.result import BenchResult
from bench.seed_lake import SeedLakeSpec, write_seed_lake, write_seed_landing
from tools.refresh import DBT_BUILD

TICKS_PER_DAY_AT_SCALE_1 = 15_000_000
START_UTC = datetime(2026, 3, 1, tzinfo=UTC)
SAMPLE_EVERY_S = 0.1


@dataclass(frozen=True)
class Measured:
    """One `dbt build`: wall seconds and the peak resident memory of its process tree."""

    seconds: float
    peak_rss_bytes: int

    @property
    def peak_rss_gib(self) -> float:
        return self.peak_rss_bytes / 2**30


def _tree_rss(process: psutil.Process) -> int:
    try:
        processes = [process, *process.children(recursive=True)]
        return sum(p.memory_info().rss for p in processes)
    except psutil.Error:
        return 0


def run_measured(command: list[str], environment: dict[str, str]) -> Measured:
    """Run a command to completion; raise with its output when it fails."""
    started = time.perf_counter()
    popen = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    process = psutil.Process(popen.pid)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_EVERY_S):
            peak = max(peak, _tree_rss(process))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    output, _ = popen.communicate()
    done.set()
    sampler.join()
    seconds = time.perf_counter() - started
    if popen.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:2])} failed:\n{output[-4000:]}")
    return Measured(seconds, peak)


def _environment(work_dir: Path, lake_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DWH_LAKE_DIR": str(lake_dir),
        "DWH_DUCKDB_PATH": str(work_dir / "warehouse.duckdb"),
        "DWH_SERVING_PATH": str(work_dir / "serving.duckdb"),
        "DBT_TARGET_PATH": str(work_dir / "target"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_build(work_dir: Path, lake_dir: Path) -> Measured:
    command = [
        *DBT_BUILD,
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--quiet",
    ]
    return run_measured(command, _environment(work_dir, lake_dir))


def refresh_cycle(
    work_dir: Path, lake_dir: Path, start_utc: datetime, ticks_per_day: int
) -> tuple[int, Measured]:
    """Land the 5 minutes from ``start_utc`` as SQLite landing files, then time one refresh cycle
    over them with the forecast not due; return the ticks landed and the measurement."""
    landing_dir = work_dir / "landing"
    ticks = write_seed_landing(
        landing_dir, SeedLakeSpec(start_utc, 5 / 60, ticks_per_day, run_id="landed", seed=0.7)
    )
    (work_dir / "refresh_state.json").write_text(
        json.dumps({"last_forecast_utc": datetime.now(UTC).isoformat()})
    )
    command = [
        sys.executable, "-m", "tools.refresh", "--input-glob", str(landing_dir / "worker_*.sqlite"),
    ]  # fmt: skip
    return ticks, run_measured(command, _environment(work_dir, lake_dir))


@dataclass(frozen=True)
class VolumeRun:
    ticks_per_day: int
    day_ticks: int
    hour_ticks: int
    full: Measured
    incremental_1_day: Measured
    history_days: int
    history_build: Measured | None
    incremental_n_days: Measured | None
    refresh_ticks: int
    refresh: Measured
    generate_s: float


def _generate(lake_dir: Path, spec: SeedLakeSpec) -> tuple[int, float]:
    started = time.perf_counter()
    written = write_seed_lake(lake_dir, spec)
    return written, time.perf_counter() - started


def run_volume(work_dir: Path, ticks_per_day: int, history_days: int) -> VolumeRun:
    """Full build of day 1, then +1 h; then days 2..history_days in one build, then +1 h."""
    lake_dir = work_dir / "lake"
    day_ticks, generate_s = _generate(
        lake_dir, SeedLakeSpec(START_UTC, 24, ticks_per_day, run_id="day1")
    )
    full = dbt_build(work_dir, lake_dir)
    hour_ticks, seconds = _generate(
        lake_dir,
        SeedLakeSpec(START_UTC + timedelta(days=1), 1, ticks_per_day, run_id="d2h0", seed=0.5),
    )
    generate_s += seconds
    incremental_1_day = dbt_build(work_dir, lake_dir)
    print(
        f"{ticks_per_day:,}/day: full {full.seconds:.1f} s ({full.peak_rss_gib:.2f} GiB), "
        f"+1 h {incremental_1_day.seconds:.1f} s ({incremental_1_day.peak_rss_gib:.2f} GiB)",
        file=sys.stderr,
    )
    history_build = incremental_n_days = None
    if history_days > 1:
        # The rest of day 2 and the days after it, then one more hour on top of them.
        rest_of_day_2 = SeedLakeSpec(
            START_UTC + timedelta(days=1, hours=1), 23, ticks_per_day, run_id="d2", seed=0.6
        )
        generate_s += _generate(lake_dir, rest_of_day_2)[1]
        for day in range(2, history_days):
            spec = SeedLakeSpec(
                START_UTC + timedelta(days=day), 24, ticks_per_day, run_id=f"d{day + 1}",
                seed=0.1 + day / 100,
            )  # fmt: skip
            generate_s += _generate(lake_dir, spec)[1]
        history_build = dbt_build(work_dir, lake_dir)
        next_hour = SeedLakeSpec(
            START_UTC + timedelta(days=history_days), 1, ticks_per_day, run_id="next", seed=0.9
        )
        generate_s += _generate(lake_dir, next_hour)[1]
        incremental_n_days = dbt_build(work_dir, lake_dir)
        print(
            f"{ticks_per_day:,}/day: days 2-{history_days} {history_build.seconds:.1f} s, "
            f"+1 h on {history_days} days {incremental_n_days.seconds:.1f} s "
            f"({incremental_n_days.peak_rss_gib:.2f} GiB)",
            file=sys.stderr,
        )
    built_until = START_UTC + timedelta(days=history_days, hours=1)
    refresh_ticks, refresh = refresh_cycle(work_dir, lake_dir, built_until, ticks_per_day)
    print(
        f"{ticks_per_day:,}/day: refresh cycle for 5 min ({refresh_ticks:,} ticks) "
        f"{refresh.seconds:.1f} s ({refresh.peak_rss_gib:.2f} GiB)",
        file=sys.stderr,
    )
    return VolumeRun(
        ticks_per_day,
        day_ticks,
        hour_ticks,
        full,
        incremental_1_day,
        history_days,
        history_build,
        incremental_n_days,
        refresh_ticks,
        refresh,
        generate_s,
    )


def _results(big: VolumeRun, small: VolumeRun) -> list[BenchResult]:
    label = f"{big.day_ticks / 1e6:.0f} M ticks/day"
    growth = (big.full.seconds / small.full.seconds) / (big.day_ticks / small.day_ticks)
    results = [
        BenchResult(
            benchmark="seed_scale",
            metric=f"full dbt build of one day, {label}",
            unit="s",
            value=big.full.seconds,
            baseline_name=f"the same at a tenth ({small.day_ticks / 1e6:.1f} M ticks)",
            baseline_value=small.full.seconds,
            higher_is_better=False,
            runs=1,
            goal="growth no worse than linear (ratio <= 10 for 10x the ticks)",
            notes=f"time per tick {growth:.2f}x the tenth's; peak RSS "
            f"{big.full.peak_rss_gib:.2f} GiB (a tenth: {small.full.peak_rss_gib:.2f} GiB); "
            f"data generation {big.generate_s:.0f} s, not counted",
        ),
        BenchResult(
            benchmark="seed_scale",
            metric=f"incremental +1 h on 1 day, {label} ({big.hour_ticks:,} new ticks)",
            unit="s",
            value=big.incremental_1_day.seconds,
            baseline_name="the full build of the day above",
            baseline_value=big.full.seconds,
            higher_is_better=False,
            runs=1,
            goal="<= 0.15 of the full build",
            notes=f"peak RSS {big.incremental_1_day.peak_rss_gib:.2f} GiB; at a tenth: "
            f"{small.incremental_1_day.seconds:.1f} s vs {small.full.seconds:.1f} s",
        ),
        BenchResult(
            benchmark="seed_scale",
            metric=f"peak RSS of the full build, {label}",
            unit="GiB",
            value=big.full.peak_rss_gib,
            baseline_name="DuckDB memory_limit + 2 GiB for dbt and Python",
            baseline_value=8.0,
            higher_is_better=False,
            runs=1,
            goal="< 8 GiB at 150 M ticks/day",
            notes="memory_limit 6GB by default (DWH_DUCKDB_MEMORY_LIMIT); DuckDB spills beyond",
        ),
    ]
    results.append(
        BenchResult(
            benchmark="seed_scale",
            metric=f"refresh cycle for 5 min of new data, {label} ({big.refresh_ticks:,} ticks)",
            unit="s",
            value=big.refresh.seconds,
            baseline_name="the 5-minute timer interval",
            baseline_value=300.0,
            higher_is_better=False,
            runs=1,
            goal="< 60 s (ratio < 0.2)",
            notes=f"export, incremental build, publish; forecast not due; peak RSS "
            f"{big.refresh.peak_rss_gib:.2f} GiB; at a tenth: {small.refresh.seconds:.1f} s",
        )
    )
    for run in (big, small):
        if run.incremental_n_days is not None and run.history_build is not None:
            results.append(
                BenchResult(
                    benchmark="seed_scale",
                    metric=f"incremental +1 h on {run.history_days} days, "
                    f"{run.day_ticks / 1e6:.1f} M ticks/day",
                    unit="s",
                    value=run.incremental_n_days.seconds,
                    baseline_name="the same +1 h on 1 day",
                    baseline_value=run.incremental_1_day.seconds,
                    higher_is_better=False,
                    runs=1,
                    goal="within 20 % (ratio 0.8-1.2)",
                    notes=f"building days 2-{run.history_days} took "
                    f"{run.history_build.seconds:.0f} s; peak RSS "
                    f"{run.incremental_n_days.peak_rss_gib:.2f} GiB",
                )
            )
    return results


def run(
    scale: float = 1.0, history_days: int = 7, history_on_big: bool = False
) -> list[BenchResult]:
    ticks = round(scale * TICKS_PER_DAY_AT_SCALE_1)
    with tempfile.TemporaryDirectory(prefix="bench-seed-") as temporary:
        root = Path(temporary)
        small = run_volume(root / "tenth", ticks // 10, history_days)
        big = run_volume(root / "full", ticks, history_days if history_on_big else 1)
    return _results(big, small)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="x 15 M ticks/day (10 = seed)")
    parser.add_argument("--history-days", type=int, default=7)
    parser.add_argument(
        "--history-on-big", action="store_true", help="also build the history at full volume"
    )
    arguments = parser.parse_args(argv)
    if arguments.scale <= 0 or arguments.history_days < 1:
        parser.error("--scale must be positive and --history-days at least 1")
    results = run(arguments.scale, arguments.history_days, arguments.history_on_big)
    for result in results:
        print(
            f"{result.metric}: {result.value:.2f} {result.unit} vs {result.baseline_name} "
            f"{result.baseline_value:.2f} (ratio {result.ratio:.3f}) {result.notes}"
        )
    Path("bench/results").mkdir(parents=True, exist_ok=True)
    Path("bench/results/seed_scale.json").write_text(
        json.dumps([r.__dict__ | {"ratio": r.ratio} for r in results], indent=2)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
