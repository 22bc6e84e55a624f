"""The one record every benchmark returns, so `make bench` can tabulate them all."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BenchResult:
    """One measured figure against its baseline, both taken in the same process and run.

    ``ratio`` is ``value / baseline`` and ``higher_is_better`` says how to read it, e.g. ticks/s
    (higher is better, a ratio of 5 means five times the baseline's throughput) or seconds
    (lower is better, a ratio of 0.2 means a fifth of the baseline's time).
    """

    benchmark: str
    metric: str
    unit: str
    value: float
    baseline_name: str
    baseline_value: float
    higher_is_better: bool
    runs: int
    goal: str
    notes: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.baseline_value if self.baseline_value else float("nan")


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``runs`` calls of ``action``."""
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)
