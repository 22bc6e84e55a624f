"""Benchmark: `dbt build` of the warehouse vs. a plain pandas version of the same grid and KPIs.

A generated 24 h lake of 3 exchanges x 20 symbols (about 5 million ticks at scale 1) is built with
the real dbt CLI (parse, every model and every test), then one more hour lands and the incremental
build is timed. The baseline, bench/pandas_reference.py, computes the grid and the core KPIs
(latency, update frequency, disconnects, price deviation) from the same lake in the same run; it
has no incremental mode, so its figure for the extra hour is a recomputation.

    .venv/bin/python -m bench.dbt_build [--scale 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.pandas_reference import compute_all
from bench.result import BenchResult
from tests.fixtures.lake import SyntheticLakeSpec, write_synthetic_lake

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


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _dbt_build(work_dir: Path, lake_dir: Path, duckdb_path: Path) -> None:
    environment = {
        **os.environ,
        "DWH_LAKE_DIR": str(lake_dir),
        "DWH_DUCKDB_PATH": str(duckdb_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [
        str(DBT),
        "build",
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--quiet",
    ]
    completed = subprocess.run(
        command, env=environment, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"dbt build failed:\n{completed.stdout[-4000:]}{completed.stderr[-2000:]}"
        )


def run(scale: float = 1.0) -> list[BenchResult]:
    ticks_per_pair_per_s = (
        scale * TICKS_PER_DAY_AT_SCALE_1 / (len(EXCHANGES) * len(SYMBOLS) * 86400)
    )
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as temporary:
        work_dir = Path(temporary)
        lake_dir = work_dir / "lake"
        duckdb_path = work_dir / "warehouse.duckdb"
        day = SyntheticLakeSpec(
            start_utc=START_UTC,
            hours=24,
            exchanges=EXCHANGES,
            symbols=SYMBOLS,
            ticks_per_pair_per_s=ticks_per_pair_per_s,
            run_id="day",
        )
        written = write_synthetic_lake(lake_dir, day)
        print(f"lake: {written.tick_count:,} ticks in {len(written.files)} files", file=sys.stderr)

        full_build_s = _timed(lambda: _dbt_build(work_dir, lake_dir, duckdb_path))
        pandas_day_s = _timed(lambda: compute_all(lake_dir))
        print(f"full build {full_build_s:.1f} s, pandas {pandas_day_s:.1f} s", file=sys.stderr)

        hour = SyntheticLakeSpec(
            start_utc=START_UTC + timedelta(hours=24),
            hours=1,
            exchanges=EXCHANGES,
            symbols=SYMBOLS,
            ticks_per_pair_per_s=ticks_per_pair_per_s,
            seed=8,
            run_id="hour",
        )
        added = write_synthetic_lake(lake_dir, hour)
        incremental_s = _timed(lambda: _dbt_build(work_dir, lake_dir, duckdb_path))
        pandas_recompute_s = _timed(lambda: compute_all(lake_dir))
        print(
            f"incremental {incremental_s:.1f} s, pandas {pandas_recompute_s:.1f} s", file=sys.stderr
        )

    notes = (
        f"{written.tick_count:,} ticks, {len(EXCHANGES)}x{len(SYMBOLS)} pairs; dbt = CLI "
        "`dbt build` (parse, 32 models, all data and unit tests); pandas = grid + core KPIs only"
    )
    return [
        BenchResult(
            benchmark="dbt_build",
            metric=f"full dbt build, 24 h lake (scale {scale:g})",
            unit="s",
            value=full_build_s,
            baseline_name="pandas grid + KPIs (bench/pandas_reference.py)",
            baseline_value=pandas_day_s,
            higher_is_better=False,
            runs=1,
            goal="< 30 s at scale 1 and <= 0.2x the pandas time",
            notes=notes,
        ),
        BenchResult(
            benchmark="dbt_build",
            metric=f"incremental dbt build, +1 h ({added.tick_count:,} ticks)",
            unit="s",
            value=incremental_s,
            baseline_name="pandas recompute of 25 h (it has no incremental mode)",
            baseline_value=pandas_recompute_s,
            higher_is_better=False,
            runs=1,
            goal="well under the full build",
            notes="incremental models reprocess from the newest hour minus lookback_hours (3)",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="tick volume multiplier (10 = 50M)"
    )
    arguments = parser.parse_args(argv)
    for result in run(arguments.scale):
        print(
            f"{result.metric}: {result.value:.2f} {result.unit} vs {result.baseline_name} "
            f"{result.baseline_value:.2f} {result.unit} (ratio {result.ratio:.3f})"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
