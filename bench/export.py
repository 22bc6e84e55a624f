"""Staging export benchmark: landing SQLite databases to the Parquet lake.

Figures: ticks exported per second from 3 landing databases (5 million ticks in total at
``--scale 2.5``; 2 million at the default scale), bytes per tick in the lake, and seconds for
``--list-only``. Baselines, measured in the same run: a naive row-by-row export (pandas
``read_sql`` + ``to_parquet``, as a first implementation would do it) on a subset, and the
original exporter's listing queries (two ``select distinct`` per file, one file after another).
"""

from __future__ import annotations

import contextlib
import io
import resource
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing
from pathlib import Path

import pandas as pd

from bench.result import BenchResult
from extract.export.cli import main as export_main
from tests.export.landing_factory import make_landing

TICKS_AT_SCALE_1 = 2_000_000
DATABASES = 3
BASELINE_TICKS = 100_000
RUNS = 3
NAIVE_COLUMNS = (
    "id, ingestion_ts_utc, exchange_id, symbol, market_type, price, bid, ask, last, open, high, "
    "low, base_volume, quote_volume, exchange_ts_ms, exchange_ts_utc, exchange_ts_source, source, "
    "worker_id, connection_id"
)


def _make(path: Path, ticks: int, seed: int) -> None:
    make_landing(path, ticks=ticks, seed=seed, raw_json=True)


def _landings(directory: Path, total: int) -> list[Path]:
    paths = [directory / f"worker_{index}.sqlite" for index in range(DATABASES)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(_make, path, total // DATABASES, index) for index, path in enumerate(paths)
        ]
        for future in futures:
            future.result()
    return paths


def _cpu_seconds() -> float:
    """CPU time of this process, all threads: the figure a busy shared machine does not inflate."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _export(landing: Path, lake: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one incremental export through the real CLI entry point."""
    args = ["--input-glob", str(landing / "worker_*.sqlite"), "--output-dir", str(lake), *extra]
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()):
        code = export_main([*args, "--incremental"])
    elapsed, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    if code != 0:
        raise RuntimeError(f"export failed with exit code {code}")
    return elapsed, cpu


def _naive_export(source: Path, target: Path, ticks: int) -> float:
    """What a first implementation does: read rows through pandas, write one Parquet file."""
    started = time.perf_counter()
    with closing(sqlite3.connect(source)) as connection:
        frame = pd.read_sql(
            f"select {NAIVE_COLUMNS} from market_ticks where id <= {ticks}", connection
        )
    frame["ingestion_ts_utc"] = pd.to_datetime(
        frame["ingestion_ts_utc"], utc=True, format="ISO8601"
    )
    frame["exchange_ts_utc"] = pd.to_datetime(frame["exchange_ts_utc"], utc=True, format="ISO8601")
    frame.to_parquet(target, index=False)
    return time.perf_counter() - started


def _original_listing(paths: list[Path]) -> float:
    started = time.perf_counter()
    for path in paths:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            connection.execute("select distinct exchange_id from market_ticks").fetchall()
            connection.execute("select distinct symbol from market_ticks").fetchall()
    return time.perf_counter() - started


def _lake_bytes(lake: Path) -> int:
    return sum(path.stat().st_size for path in lake.glob("market_ticks/*/*/*.parquet"))


def run(scale: float = 1.0) -> list[BenchResult]:
    total = int(TICKS_AT_SCALE_1 * scale) // DATABASES * DATABASES
    with tempfile.TemporaryDirectory(prefix="bench-export-") as scratch:
        root = Path(scratch)
        landing = root / "landing"
        landing.mkdir()
        paths = _landings(landing, total)
        baseline_ticks = min(BASELINE_TICKS, total // DATABASES)

        naive_seconds = statistics.median(
            _naive_export(paths[0], root / "naive.parquet", baseline_ticks) for _ in range(RUNS)
        )
        naive_bytes = (root / "naive.parquet").stat().st_size / baseline_ticks
        # each run a full export into a fresh lake, with its own watermark state
        timings = [_export(landing, root / f"lake-{run}") for run in range(RUNS)]
        seconds = statistics.median(wall for wall, _ in timings)
        cpu_seconds = statistics.median(cpu for _, cpu in timings)
        lake_bytes = _lake_bytes(root / "lake-0") / total
        noop_seconds, _ = _export(landing, root / "lake-0")
        list_timings = [_list_only(landing) for _ in range(RUNS)]
        list_seconds = statistics.median(wall for wall, _ in list_timings)
        list_cpu_seconds = statistics.median(cpu for _, cpu in list_timings)
        original_list_seconds = statistics.median(_original_listing(paths) for _ in range(RUNS))

    note = f"{DATABASES} landing databases, {total:,} ticks; baseline on {baseline_ticks:,} ticks"
    cpu_note = (
        f"; medians of {RUNS} runs: export used {cpu_seconds:.1f} CPU-s in {seconds:.1f} s wall "
        f"({total / cpu_seconds * 2:,.0f} ticks/s if both cores were free)"
    )
    return [
        BenchResult(
            benchmark="export",
            metric="ticks exported per second",
            unit="ticks/s",
            value=total / seconds,
            baseline_name="pandas read_sql + to_parquet",
            baseline_value=baseline_ticks / naive_seconds,
            higher_is_better=True,
            runs=RUNS,
            goal=">= 1,000,000 ticks/s at 5M ticks (--scale 2.5)",
            notes=note + cpu_note,
        ),
        BenchResult(
            benchmark="export",
            metric="lake bytes per tick",
            unit="bytes",
            value=lake_bytes,
            baseline_name="pandas to_parquet (snappy, unsorted)",
            baseline_value=naive_bytes,
            higher_is_better=False,
            runs=RUNS,
            goal="< 40 bytes/tick",
            notes=note,
        ),
        BenchResult(
            benchmark="export",
            metric="list-only seconds",
            unit="s",
            value=list_seconds,
            baseline_name="original listing queries, file by file",
            baseline_value=original_list_seconds,
            higher_is_better=False,
            runs=RUNS,
            goal="< 1 s on a day of data",
            notes=f"{note}; list-only used {list_cpu_seconds:.2f} CPU-s; incremental re-run "
            f"with nothing new took {noop_seconds:.2f} s",
        ),
    ]


def _list_only(landing: Path) -> tuple[float, float]:
    """Wall and CPU seconds of ``--list-only`` over every row."""
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    with contextlib.redirect_stdout(io.StringIO()):
        export_main(["--input-glob", str(landing / "worker_*.sqlite"), "--list-only"])
    return time.perf_counter() - started, _cpu_seconds() - cpu_started
