"""Benchmark: the same `dbt build` on Spark (local mode, this machine's cores) beside DuckDB.

The 24 h lake of bench/dbt_build.py (about 5 million ticks at scale 1) is built by the real dbt
CLI on both targets, then one more hour lands and both build incrementally. There is no goal:
Spark in local mode on two cores is slower than DuckDB; the figures are for sizing a cluster
(docs/scaling.md). One round each: a Spark build takes minutes.

    .venv/bin/python -m bench.dbt_spark [--scale 0.1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bench.dbt_build import DbtTiming, timed_dbt_build, timing_note, write_day_and_next_hour
from bench.result import BenchResult


def run(scale: float = 1.0) -> list[BenchResult]:
    with tempfile.TemporaryDirectory(prefix="bench-dbt-spark-") as temporary:
        work_dir = Path(temporary)
        day_lake, next_lake, written, added = write_day_and_next_hour(work_dir, scale)
        print(f"lake: {written.tick_count:,} ticks, +1 h {added.tick_count:,}", file=sys.stderr)

        timings: dict[str, tuple[DbtTiming, DbtTiming]] = {}
        for engine in ("duckdb", "spark"):
            duckdb_path = work_dir / f"warehouse-{engine}.duckdb"
            spark_warehouse = work_dir / "spark-warehouse" if engine == "spark" else None
            target_dir = work_dir / f"target-{engine}"
            full = timed_dbt_build(target_dir, day_lake, duckdb_path, spark_warehouse)
            incremental = timed_dbt_build(target_dir, next_lake, duckdb_path, spark_warehouse)
            timings[engine] = (full, incremental)
            print(
                f"{engine}: full {full.wall_s:.1f} s, incremental {incremental.wall_s:.1f} s",
                file=sys.stderr,
            )

    notes = f"{written.tick_count:,} ticks; Spark {os.environ.get('DWH_SPARK_MASTER', 'local[2]')}"
    return [
        BenchResult(
            benchmark="dbt_spark",
            metric=f"full dbt build on Spark, 24 h lake (scale {scale:g})",
            unit="s",
            value=timings["spark"][0].wall_s,
            baseline_name="the same full build on DuckDB",
            baseline_value=timings["duckdb"][0].wall_s,
            higher_is_better=False,
            runs=1,
            goal="reported: completes on this machine (for sizing a cluster)",
            notes=f"{notes}; Spark: {timing_note(timings['spark'][0])}",
        ),
        BenchResult(
            benchmark="dbt_spark",
            metric=f"incremental dbt build on Spark, +1 h ({added.tick_count:,} ticks)",
            unit="s",
            value=timings["spark"][1].wall_s,
            baseline_name="the same incremental build on DuckDB",
            baseline_value=timings["duckdb"][1].wall_s,
            higher_is_better=False,
            runs=1,
            goal="reported",
            notes=f"{notes}; Spark: {timing_note(timings['spark'][1])}",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="tick volume multiplier")
    arguments = parser.parse_args(argv)
    if arguments.scale <= 0:
        parser.error("--scale must be positive")
    for result in run(arguments.scale):
        print(
            f"{result.metric}: {result.value:.1f} {result.unit} vs {result.baseline_name} "
            f"{result.baseline_value:.1f} {result.unit} (ratio {result.ratio:.2f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
