"""`make bench`: run every benchmark and write the table as Markdown and JSON.

Each benchmark module exposes ``run(scale: float) -> list[BenchResult]`` and measures its own
baseline in the same run, so the ratios hold when the machine is noisy.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.result import BenchResult

BENCHMARKS = (
    "sandbox_throughput",
    "capture",
    "peer",
    "export",
    "dbt_build",
    "dbt_spark",
    "seed_scale",
    "forecast",
    "dashboard",
)
DEFAULT_OUTPUT = Path("bench/results")


def better(result: BenchResult) -> str:
    return "higher" if result.higher_is_better else "lower"


def markdown_table(results: Sequence[BenchResult]) -> str:
    header = (
        "| benchmark | metric | value | unit | baseline | baseline value | ratio | better | runs "
        "| goal | notes |\n|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = [
        f"| {r.benchmark} | {r.metric} | {r.value:,.3f} | {r.unit} | {r.baseline_name} "
        f"| {r.baseline_value:,.3f} | {r.ratio:,.2f} | {better(r)} | {r.runs} | {r.goal} "
        f"| {r.notes} |"
        for r in results
    ]
    return header + "\n".join(rows) + "\n"


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", help=f"comma-separated subset of {','.join(BENCHMARKS)}")
    parser.add_argument("--scale", type=float, default=1.0, help="data size multiplier")
    parser.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be positive")
    if args.only:
        unknown = set(args.only.split(",")) - set(BENCHMARKS)
        if unknown:
            parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {BENCHMARKS}")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    selected = args.only.split(",") if args.only else list(BENCHMARKS)
    results: list[BenchResult] = []
    failed: list[str] = []
    for name in selected:
        print(f"[bench] {name} (scale {args.scale}) ...", flush=True)
        started = time.monotonic()
        try:
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run(args.scale))
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"[bench] {name} took {time.monotonic() - started:.1f} s", flush=True)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(results)
    (args.output_dir / "latest.md").write_text(table)
    payload = [asdict(r) | {"ratio": r.ratio} for r in results]
    (args.output_dir / "latest.json").write_text(json.dumps(payload, indent=2))
    print(table)
    if failed:
        print(f"[bench] failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
