"""Progress of an export on stderr: a bar on a terminal, a log line per interval elsewhere.

``--progress`` (default on) and ``--progress-interval-seconds`` (default 1 s on a terminal, 10 s
in a log such as journald's). Nothing shows for a run shorter than one interval. Updates come
from the worker threads exporting slices in parallel.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from tqdm import tqdm

TERMINAL_INTERVAL_S: Final = 1.0
LOG_INTERVAL_S: Final = 10.0

log = logging.getLogger(__name__)

# The bar shows no time left before this share of the rows is done: the first rows come after
# a read's set-up time and in uneven slices, so an early rate is noise (it once said 1:14:20).
ETA_AFTER_FRACTION: Final = 0.05


class RowProgress(tqdm):  # type: ignore[type-arg]
    """tqdm over rows whose time left comes from the average rate of the whole run so far
    (``smoothing=0``), shown only once ``ETA_AFTER_FRACTION`` of the rows are done."""

    WITHOUT_ETA = "{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}, {rate_fmt}]"

    def __init__(self, *, total: int, **kwargs: Any) -> None:
        super().__init__(total=total, smoothing=0, bar_format=self.WITHOUT_ETA, **kwargs)

    def update(self, n: float | None = 1) -> bool | None:
        done = self.n + (n or 0)
        if self.bar_format is not None and done >= (self.total or 0) * ETA_AFTER_FRACTION:
            self.bar_format = None  # tqdm's default format, with the time left
        return super().update(n)


class _LogProgress:
    """``event=export_progress`` lines, at most one per interval, and a last one when done."""

    def __init__(self, total: int, interval_s: float) -> None:
        self._total = total
        self._interval_s = interval_s
        self._done = 0
        self._started = time.monotonic()
        self._last_line = self._started
        self._lines = 0
        self._lock = threading.Lock()

    def update(self, rows: int) -> None:
        with self._lock:
            self._done += rows
            now = time.monotonic()
            if now - self._last_line >= self._interval_s:
                self._last_line = now
                self._line(now)

    def close(self) -> None:
        with self._lock:
            if self._lines:  # only runs that reported progress report their end
                self._line(time.monotonic())

    def _line(self, now: float) -> None:
        self._lines += 1
        elapsed = max(now - self._started, 1e-9)
        log.info(
            "event=export_progress rows=%d of=%d pct=%.1f rows_per_s=%.0f elapsed_s=%.1f",
            self._done,
            self._total,
            100.0 * self._done / self._total,
            self._done / elapsed,
            elapsed,
        )


@contextmanager
def progress(
    total: int, *, enabled: bool, interval_s: float | None
) -> Iterator[Callable[[int], object]]:
    """A function to call with the number of rows done, as slices finish chunks."""
    if not enabled or total == 0:
        yield lambda rows: None
        return
    if sys.stderr.isatty():
        interval = interval_s or TERMINAL_INTERVAL_S
        with RowProgress(
            total=total,
            unit=" rows",
            unit_scale=True,
            desc="export",
            file=sys.stderr,
            delay=interval,
            mininterval=interval,
        ) as bar:
            yield bar.update
        return
    reporter = _LogProgress(total, interval_s or LOG_INTERVAL_S)
    try:
        yield reporter.update
    finally:
        reporter.close()
