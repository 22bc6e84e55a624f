"""Benchmark: `dbt build` of the warehouse vs. a plain pandas version of the same grid and KPIs.

A generated 24 h lake of 3 exchanges x 20 symbols (about 5 million ticks at scale 1) is built with
the real dbt CLI (parse, every model and every test), then one more hour lands and the incremental
build is timed; each figure is the median of several such rounds. The baseline,
bench/pandas_reference.py, computes the grid and the core KPIs (latency, update frequency,
disconnects, price deviation) from the same lake in the same run; the incremental build is set
against the full build (pandas has no incremental mode). Two more figures split the build's time:
the same build on a tiny lake (dbt's fixed cost) and the full build's SQL alone, timed inside
DuckDB (bench/dbt_query_time.py: what any runner of these models and tests would pay).

    .venv/bin/python -m bench.dbt_build [--scale 10] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil

from bench.pandas_reference import compute_all
from bench.result import BenchResult
from tests.fixtures.lake import LakeFiles, SyntheticLakeSpec, write_synthetic_lake

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT = REPO_ROOT / ".venv" / "bin" / "dbt"
PROJECT_DIR = REPO_ROOT / "dbt_project"
EXCHANGES = ("binance", "kraken", "okx")
SYMBOLS = tuple(
    f"{base}/USDT"
    for base in (
        "BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "LTC", "BCH", "DOT", "AVAX",
        "LINK", "TRX", "XLM", "ATOM", "UNI", "ETC", "XMR", "BNB", "NEAR", "FIL",
    )
)  # fmt: skip
TICKS_PER_DAY_AT_SCALE_1 = 5_000_000
START_UTC = datetime(2026, 3, 1, tzinfo=UTC)
RUNS = 3
TINY_TICKS_PER_PAIR_PER_S = 0.05  # 1 h x 60 pairs: about 10,800 ticks
# peak memory of bench/pandas_reference.py: about 7.0 GB at 5.2 million ticks
PANDAS_BYTES_PER_TICK = 1_400


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


@dataclass(frozen=True)
class DbtTiming:
    """One `dbt build`: wall time of the CLI, and dbt's own figures from run_results.json."""

    wall_s: float
    elapsed_after_parse_s: float  # dbt's elapsed_time: the nodes, without start-up and parse
    model_s: float  # summed execution time of models and seeds (two threads overlap them)
    test_s: float  # summed execution time of data and unit tests


def timed_dbt_build(
    target_dir: Path, lake_dir: Path, duckdb_path: Path, spark_warehouse: Path | None = None
) -> DbtTiming:
    """One `dbt build` into the DuckDB file, or with ``spark_warehouse`` on the spark target."""
    environment = {
        **os.environ,
        "DWH_LAKE_DIR": str(lake_dir),
        "DWH_DUCKDB_PATH": str(duckdb_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target_options = []
    if spark_warehouse is not None:
        environment["DWH_SPARK_WAREHOUSE"] = str(spark_warehouse)
        environment.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        target_options = ["--target", "spark"]
    command = [
        str(DBT),
        "build",
        *target_options,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target_dir),
        "--log-path",
        str(target_dir / "logs"),
        "--quiet",
    ]
    started = time.perf_counter()
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=False
    )
    wall_s = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"dbt build failed:\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}"
        )
    results = json.loads((target_dir / "run_results.json").read_text())
    node_times = [(r["unique_id"], float(r["execution_time"])) for r in results["results"]]
    test_s = sum(t for node, t in node_times if node.startswith(("test.", "unit_test.")))
    return DbtTiming(
        wall_s=wall_s,
        elapsed_after_parse_s=float(results["elapsed_time"]),
        model_s=sum(t for _, t in node_times) - test_s,
        test_s=test_s,
    )


def _sql_seconds(lake_dir: Path, duckdb_path: Path) -> float:
    """Time inside DuckDB of the full build's statements, back to back (bench/dbt_query_time)."""
    command = [sys.executable, "-m", "bench.dbt_query_time", str(lake_dir), str(duckdb_path)]
    completed = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"dbt build (query timing) failed:\n{completed.stderr[-4000:]}")
    duckdb_path.unlink()
    return float(json.loads(completed.stdout.splitlines()[-1])["sql_s"])


def _median_timing(timings: list[DbtTiming]) -> DbtTiming:
    return DbtTiming(
        *(statistics.median(getattr(t, f.name) for t in timings) for f in fields(DbtTiming))
    )


def lake_spec(
    scale: float, start_utc: datetime, hours: int, seed: int, run_id: str
) -> SyntheticLakeSpec:
    ticks_per_pair_per_s = (
        scale * TICKS_PER_DAY_AT_SCALE_1 / (len(EXCHANGES) * len(SYMBOLS) * 86400)
    )
    return _spec(start_utc, hours, ticks_per_pair_per_s, seed, run_id)


def _spec(
    start_utc: datetime, hours: int, ticks_per_pair_per_s: float, seed: int, run_id: str
) -> SyntheticLakeSpec:
    return SyntheticLakeSpec(
        start_utc=start_utc,
        hours=hours,
        exchanges=EXCHANGES,
        symbols=SYMBOLS,
        ticks_per_pair_per_s=ticks_per_pair_per_s,
        seed=seed,
        run_id=run_id,
    )


def timing_note(timing: DbtTiming) -> str:
    return (
        f"dbt's own elapsed after start-up and parse {timing.elapsed_after_parse_s:.1f} s; "
        f"node times summed: models {timing.model_s:.1f} s, tests {timing.test_s:.1f} s"
    )


def _pandas_fits(ticks: int) -> bool:
    return ticks * PANDAS_BYTES_PER_TICK < 0.8 * psutil.virtual_memory().available


class _FullBuildReference:
    """What the full build is set against: pandas on the same lake when it fits in memory,
    else (large scales) the same dbt build at scale 1 in the same run, to show how cost grows."""

    def __init__(self, work_dir: Path, ticks: int) -> None:
        self._work_dir = work_dir
        self._scale_1_lake: Path | None = None
        if _pandas_fits(ticks):
            self.name = "pandas grid + KPIs (bench/pandas_reference.py)"
            self.note = ""
        else:
            self._scale_1_lake = work_dir / "lake-scale-1"
            write_synthetic_lake(self._scale_1_lake, lake_spec(1.0, START_UTC, 24, 7, "day"))
            self.name = "the same full dbt build at scale 1"
            needed_gb = ticks * PANDAS_BYTES_PER_TICK / 2**30
            self.note = f"pandas not run: it would need about {needed_gb:.0f} GiB; "

    def seconds(self, day_lake: Path, target_dir: Path) -> float:
        if self._scale_1_lake is None:
            return _timed(lambda: compute_all(day_lake))
        duckdb_path = self._work_dir / "warehouse-scale-1.duckdb"
        timing = timed_dbt_build(target_dir / "scale-1", self._scale_1_lake, duckdb_path)
        duckdb_path.unlink()
        return timing.wall_s


def write_day_and_next_hour(
    work_dir: Path, scale: float
) -> tuple[Path, Path, LakeFiles, LakeFiles]:
    """The 24 h lake, and beside it (hard links) the same lake plus the next hour."""
    day_lake, next_lake = work_dir / "lake-day", work_dir / "lake-next-hour"
    written = write_synthetic_lake(day_lake, lake_spec(scale, START_UTC, 24, 7, "day"))
    shutil.copytree(day_lake, next_lake, copy_function=os.link)
    next_hour = lake_spec(scale, START_UTC + timedelta(hours=24), 1, 8, "hour")
    added = write_synthetic_lake(next_lake, next_hour)
    return day_lake, next_lake, written, added


def run(scale: float = 1.0, runs: int = RUNS) -> list[BenchResult]:
    """Median of ``runs`` rounds; each builds a fresh warehouse (fresh target, so a full parse)
    from the 24 h lake, then the same warehouse incrementally from the lake plus one hour, and
    a fresh one from a lake so small that only dbt's fixed cost (start-up, parse, one query per
    node) remains."""
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as temporary:
        work_dir = Path(temporary)
        day_lake, next_lake, written, added = write_day_and_next_hour(work_dir, scale)
        tiny_lake = work_dir / "lake-tiny"
        tiny = write_synthetic_lake(
            tiny_lake, _spec(START_UTC, 1, TINY_TICKS_PER_PAIR_PER_S, 9, "t")
        )
        print(f"lake: {written.tick_count:,} ticks, +1 h {added.tick_count:,}", file=sys.stderr)
        reference = _FullBuildReference(work_dir, written.tick_count)

        full, incremental, fixed, reference_day, pandas_tiny = [], [], [], [], []
        for round_number in range(runs):
            duckdb_path = work_dir / f"warehouse-{round_number}.duckdb"
            target_dir = work_dir / f"target-{round_number}"
            full.append(timed_dbt_build(target_dir, day_lake, duckdb_path))
            reference_day.append(reference.seconds(day_lake, target_dir))
            incremental.append(timed_dbt_build(target_dir, next_lake, duckdb_path))
            duckdb_path.unlink()
            fixed.append(timed_dbt_build(target_dir / "tiny", tiny_lake, duckdb_path))
            pandas_tiny.append(_timed(lambda: compute_all(tiny_lake)))
            duckdb_path.unlink()
            print(
                f"round {round_number + 1}/{runs}: full {full[-1].wall_s:.1f} s "
                f"({reference.name} {reference_day[-1]:.1f} s), "
                f"incremental {incremental[-1].wall_s:.1f} s, "
                f"tiny lake {fixed[-1].wall_s:.1f} s",
                file=sys.stderr,
            )
        # once, not per round: it is a split of the full build's time, and keeps `make bench`
        # within its 10 minutes
        sql_s = _sql_seconds(day_lake, work_dir / "warehouse-sql.duckdb")
        print(f"the full build's SQL alone: {sql_s:.1f} s", file=sys.stderr)

    full_median, incremental_median = _median_timing(full), _median_timing(incremental)
    fixed_median, reference_median = _median_timing(fixed), statistics.median(reference_day)
    data_s = full_median.wall_s - fixed_median.wall_s
    notes = (
        f"{written.tick_count:,} ticks, {len(EXCHANGES)}x{len(SYMBOLS)} pairs; dbt = CLI "
        "`dbt build` (start-up, parse, 32 models, all data and unit tests); pandas = grid + core "
        f"KPIs only; less dbt's fixed cost (the tiny-lake build) the data costs {data_s:.1f} s"
        f" ({data_s / reference_median:.2f}x the baseline); {reference.note}"
    )
    return [
        BenchResult(
            benchmark="dbt_build",
            metric=f"full dbt build, 24 h lake (scale {scale:g})",
            unit="s",
            value=full_median.wall_s,
            baseline_name=reference.name,
            baseline_value=reference_median,
            higher_is_better=False,
            runs=runs,
            goal="< 30 s at scale 1 and <= 0.2x the pandas time",
            notes=notes + timing_note(full_median),
        ),
        BenchResult(
            benchmark="dbt_build",
            metric=f"incremental dbt build, +1 h ({added.tick_count:,} ticks)",
            unit="s",
            value=incremental_median.wall_s,
            baseline_name="the full dbt build above",
            baseline_value=full_median.wall_s,
            higher_is_better=False,
            runs=runs,
            goal="well under the full build",
            notes="incremental models reprocess from the newest hour minus lookback_hours (3), "
            "with partial parsing; " + timing_note(incremental_median),
        ),
        BenchResult(
            benchmark="dbt_build",
            metric=f"full dbt build, tiny lake ({tiny.tick_count:,} ticks): dbt's fixed cost",
            unit="s",
            value=fixed_median.wall_s,
            baseline_name="pandas grid + KPIs on the tiny lake",
            baseline_value=statistics.median(pandas_tiny),
            higher_is_better=False,
            runs=runs,
            goal="reported: what every build pays whatever the data",
            notes=timing_note(fixed_median),
        ),
        BenchResult(
            benchmark="dbt_build",
            metric="the full build's SQL alone: time inside DuckDB, statements back to back",
            unit="s",
            value=sql_s,
            baseline_name=reference.name,
            baseline_value=reference_median,
            higher_is_better=False,
            runs=1,
            goal="reported: the floor under any build of these models and tests, dbt or not",
            notes="the same full build run in-process with one thread, every statement timed "
            "(bench/dbt_query_time.py); the rest of the build's time is dbt's own work",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="tick volume multiplier (10 = 50M)"
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="rounds to take the median of")
    arguments = parser.parse_args(argv)
    if arguments.scale <= 0 or arguments.runs <= 0:
        parser.error("--scale and --runs must be positive")
    for result in run(arguments.scale, arguments.runs):
        print(
            f"{result.metric}: {result.value:.2f} {result.unit} vs {result.baseline_name} "
            f"{result.baseline_value:.2f} {result.unit} (ratio {result.ratio:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
