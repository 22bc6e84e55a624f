"""`make soak HOURS=n`: run the collector against the sandbox for hours, fail on steady growth.

Samples the collector's process tree every few seconds (resident memory, open file descriptors,
threads, TCP connections) and the workers' own ``worker_status`` log lines (queue depth, asyncio
tasks, connections up). After a warm-up, each series' late level is compared with its early
level; a resource that keeps growing (a leak) fails the run with a non-zero exit.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from extract.sandbox.process import SandboxProcess

PY = sys.executable
STATUS_FIELDS = ("queue_depth", "tasks", "connections_up")


@dataclass(frozen=True)
class Sample:
    elapsed_s: float
    rss_mb: float
    open_fds: int
    threads: int
    tcp_connections: int
    status: dict[str, float]


@dataclass(frozen=True)
class GrowthLimit:
    """A series fails when its late median exceeds its early median by both margins."""

    relative: float
    absolute: float


LIMITS = {
    "rss_mb": GrowthLimit(relative=0.25, absolute=40.0),
    "open_fds": GrowthLimit(relative=0.25, absolute=8),
    "threads": GrowthLimit(relative=0.25, absolute=4),
    "tcp_connections": GrowthLimit(relative=0.5, absolute=8),
    "queue_depth": GrowthLimit(relative=1.0, absolute=1000),
    "tasks": GrowthLimit(relative=0.25, absolute=20),
}


def process_tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def latest_status(log_path: Path) -> dict[str, float]:
    """Sum the newest ``worker_status`` line of each worker."""
    newest: dict[str, dict[str, float]] = {}
    if not log_path.exists():
        return {}
    for line in log_path.read_text(errors="replace").splitlines():
        if "event=worker_status" not in line:
            continue
        words = dict(part.split("=", 1) for part in shlex.split(line) if "=" in part)
        newest[words.get("worker", "?")] = {
            name: float(words[name]) for name in STATUS_FIELDS if name in words
        }
    totals: dict[str, float] = {}
    for fields in newest.values():
        for name, value in fields.items():
            totals[name] = totals.get(name, 0.0) + value
    return totals


def take_sample(root: psutil.Process, started: float, log_path: Path) -> Sample:
    rss = fds = threads = connections = 0
    for process in process_tree(root):
        try:
            rss += process.memory_info().rss
            fds += process.num_fds()
            threads += process.num_threads()
            connections += len(process.net_connections(kind="tcp"))
        except psutil.NoSuchProcess:
            continue
    return Sample(
        elapsed_s=time.monotonic() - started,
        rss_mb=rss / 2**20,
        open_fds=fds,
        threads=threads,
        tcp_connections=connections,
        status=latest_status(log_path),
    )


def series(samples: Sequence[Sample], name: str) -> list[float]:
    if name in STATUS_FIELDS:
        return [s.status[name] for s in samples if name in s.status]
    return [float(getattr(s, name)) for s in samples]


def growth_verdicts(samples: Sequence[Sample]) -> list[tuple[str, float, float, bool]]:
    """(series, early median, late median, grew), judged on the steady state only.

    Warm-up is everything before the workers' first status line (profiling, process start)
    plus the first fifth of what follows.
    """
    running = [s for s in samples if s.status]
    steady = running[len(running) // 5 :]
    verdicts = []
    for name, limit in LIMITS.items():
        values = series(steady, name)
        if len(values) < 6:
            continue
        third = len(values) // 3
        early, late = statistics.median(values[:third]), statistics.median(values[-third:])
        grew = late - early > max(limit.absolute, limit.relative * early)
        verdicts.append((name, early, late, grew))
    return verdicts


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--hours", type=float, default=1.0, help="how long to run (default 1)")
    parser.add_argument(
        "--sample-every-s",
        type=float,
        default=0.0,
        help="sampling period (default: hours*3600/120, at least 2 s)",
    )
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.hours <= 0:
        parser.error("--hours must be positive")
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    duration_s = args.hours * 3600
    every_s = args.sample_every_s or max(2.0, duration_s / 120)
    with tempfile.TemporaryDirectory(prefix="soak-") as scratch:
        work = Path(scratch)
        log_path = work / "collector.log"
        with SandboxProcess() as sandbox:
            url = sandbox.url
            collector = subprocess.Popen(
                [
                    PY,
                    "-m",
                    "extract",
                    "run",
                    "--sandbox",
                    url,
                    "--duration-s",
                    str(duration_s),
                    "--workers",
                    str(args.workers),
                    "--worker-db-template",
                    str(work / "worker_{worker_id}.sqlite"),
                    "--status-interval-s",
                    str(min(every_s, 10.0)),
                    "--log-file",
                    str(log_path),
                    "--log-level",
                    "info",
                ],
                stderr=subprocess.DEVNULL,
            )
            root = psutil.Process(collector.pid)
            started = time.monotonic()
            samples: list[Sample] = []
            while collector.poll() is None:
                samples.append(take_sample(root, started, log_path))
                last = samples[-1]
                print(
                    f"[soak] t={last.elapsed_s:7.0f}s rss={last.rss_mb:7.1f}MB "
                    f"fds={last.open_fds} threads={last.threads} tcp={last.tcp_connections} "
                    f"status={last.status}",
                    flush=True,
                )
                time.sleep(every_s)
            exit_code = collector.wait()
    verdicts = growth_verdicts(samples)
    for name, early, late, grew in verdicts:
        print(
            f"[soak] {name:<16} early={early:10.1f} late={late:10.1f} "
            f"{'GROWING' if grew else 'steady'}"
        )
    if exit_code != 0:
        print(f"[soak] collector exited with {exit_code}", file=sys.stderr)
        return 1
    if not verdicts:
        print("[soak] too few samples to judge growth; run longer", file=sys.stderr)
        return 1
    return 1 if any(grew for *_, grew in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
