"""Between capture and disk: hold ticks and events in memory, commit them in batches.

Capture hands over each tick synchronously (inside ccxt's frame handling); a commit loop commits
whole batches as soon as ``batch_size`` ticks wait and whatever waits every ``flush_interval_s``,
each commit in a thread so the event loop keeps stamping frames meanwhile. A failed commit (disk
full, capped database, I/O error) keeps the batch, logs one clear error line (and a reminder
every 10 failed retries) and retries with backoff; nothing already committed is touched. Only
when ``queue_size`` ticks are waiting are new ones dropped, and every dropped tick is counted and
logged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from extract.collector.backoff import Backoff
from extract.collector.logs import log_event
from extract.collector.records import ConnectionEvent, Tick
from extract.collector.writer import LandingWriteError, LandingWriter

MAX_RETRY_DELAY_S = 5.0
DROP_LOG_INTERVAL = 10_000


@dataclass
class PipelineStats:
    ticks_landed: int = 0
    events_landed: int = 0
    ticks_dropped: int = 0
    events_dropped: int = 0
    write_failures: int = 0


class LandingPipeline:
    def __init__(
        self, writer: LandingWriter, *, batch_size: int, flush_interval_s: float, queue_size: int
    ) -> None:
        self.writer = writer
        self.batch_size = batch_size
        self.flush_interval_s = flush_interval_s
        self.queue_size = queue_size
        self.stats = PipelineStats()
        self._ticks: list[Tick] = []
        self._events: list[ConnectionEvent] = []
        self._wake = asyncio.Event()
        self._failing_since_retry = 0
        self._retry_backoff = Backoff(flush_interval_s, MAX_RETRY_DELAY_S)
        self._draining = False
        self._task: asyncio.Task[None] | None = None

    # -- the sink capture writes into -----------------------------------------------------------

    def tick(self, tick: Tick) -> None:
        if len(self._ticks) >= self.queue_size:
            self.stats.ticks_dropped += 1
            if self.stats.ticks_dropped % DROP_LOG_INTERVAL == 1:
                log_event(
                    logging.ERROR,
                    "ticks_dropped",
                    exchange=tick.exchange_id,
                    symbol=tick.symbol,
                    dropped_total=self.stats.ticks_dropped,
                    queue_size=self.queue_size,
                )
            return
        self._ticks.append(tick)
        if len(self._ticks) >= self.batch_size:
            self._wake.set()

    def event(self, event: ConnectionEvent) -> None:
        if len(self._events) >= self.queue_size:
            self.stats.events_dropped += 1
            return
        self._events.append(event)

    @property
    def depth(self) -> int:
        return len(self._ticks) + len(self._events)

    # -- committing -----------------------------------------------------------------------------

    def flush(self) -> bool:
        """Commit everything waiting, in this thread; False if a commit failed (batch kept)."""
        if self._task is not None and not self._task.done():
            raise RuntimeError("flush() while the commit loop runs; use drain()")
        while self._ticks or self._events:
            ticks, events = self._ticks[: self.batch_size], self._events[: self.batch_size]
            try:
                self.writer.write(ticks, events)
            except LandingWriteError as error:
                self._failed(error)
                return False
            self._committed(len(ticks), len(events))
        return True

    async def _flush_off_loop(self, *, full_batches_only: bool) -> bool:
        """As :meth:`flush`, but each commit runs in a thread: SQLite releases the GIL while it
        writes, so the event loop keeps stamping frames as they arrive during a commit. With
        ``full_batches_only``, a partial batch waits for the next flush interval, so a steady
        stream commits in whole batches rather than chasing the ticks that arrived meanwhile."""
        while (
            len(self._ticks) >= self.batch_size
            if full_batches_only
            else self._ticks or self._events
        ):
            ticks, events = self._ticks[: self.batch_size], self._events[: self.batch_size]
            try:
                await asyncio.to_thread(self.writer.write, ticks, events)
            except LandingWriteError as error:
                self._failed(error)
                return False
            # only appends happened meanwhile, so the batch is still at the front
            self._committed(len(ticks), len(events))
        return True

    def _committed(self, tick_count: int, event_count: int) -> None:
        del self._ticks[:tick_count]
        del self._events[:event_count]
        self.stats.ticks_landed += tick_count
        self.stats.events_landed += event_count
        if self._failing_since_retry:
            log_event(
                logging.WARNING,
                "landing_write_recovered",
                exchange=None,
                db=str(self.writer.path),
                failed_attempts=self._failing_since_retry,
            )
            self._failing_since_retry = 0

    def _failed(self, error: LandingWriteError) -> None:
        self.stats.write_failures += 1
        if self._failing_since_retry == 0:
            log_event(
                logging.ERROR,
                "landing_write_failed",
                exchange=None,
                db=str(self.writer.path),
                error=str(error),
                waiting_ticks=len(self._ticks),
                waiting_events=len(self._events),
                action="keeping the batch in memory and retrying",
            )
        elif self._failing_since_retry % 10 == 0:
            log_event(
                logging.ERROR,
                "landing_write_still_failing",
                exchange=None,
                db=str(self.writer.path),
                failed_attempts=self._failing_since_retry,
                waiting_ticks=len(self._ticks),
            )
        self._failing_since_retry += 1

    async def run(self) -> None:
        """Commit every flush interval, or as soon as a batch is full, until :meth:`drain`.
        While commits fail, retries back off (a full batch does not hurry them)."""
        delay = self.flush_interval_s
        while not self._draining:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
                batch_full = True
            except TimeoutError:
                batch_full = False
            self._wake.clear()
            if self._failing_since_retry and not self._draining:
                await asyncio.sleep(delay)
                batch_full = False
            if await self._flush_off_loop(full_batches_only=batch_full and not self._draining):
                delay = self.flush_interval_s
            else:
                delay = self._retry_backoff.delay_s(self._failing_since_retry + 1)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    async def drain(self, attempts: int = 5) -> bool:
        """Stop the commit loop (after its commit in flight), then commit what is left;
        False if ticks remain uncommitted after ``attempts`` tries."""
        self._draining = True
        self._wake.set()
        if self._task is not None:
            await self._task
        for _ in range(attempts):
            if self.flush():
                return True
        return False
