"""Profile exchanges before planning: run each one's real session briefly and measure it.

The profile captures exactly as a worker would, into a sink that only counts, so the figures
(bytes per second received, reconnects per minute) are those the worker will see.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace

from extract.collector.config import CollectorConfig
from extract.collector.planning import ExchangeProfile
from extract.collector.records import ConnectionEvent, Tick
from extract.collector.session import ExchangeSession


class _CountingSink:
    def __init__(self) -> None:
        self.ticks = 0

    def tick(self, tick: Tick) -> None:
        self.ticks += 1

    def event(self, event: ConnectionEvent) -> None:
        return None


async def profile_exchanges(
    exchanges: Sequence[str], config: CollectorConfig
) -> dict[str, ExchangeProfile]:
    profile_config = replace(config, backfill=False)
    stop = asyncio.Event()
    sessions = [ExchangeSession(name, profile_config, _CountingSink(), stop) for name in exchanges]
    tasks = [asyncio.create_task(session.run()) for session in sessions]
    started = time.monotonic()
    await asyncio.wait(tasks, timeout=config.profile_seconds)
    elapsed = time.monotonic() - started
    stop.set()
    _, pending = await asyncio.wait(tasks, timeout=config.drain_timeout_s)
    for task in pending:
        task.cancel()
    profiles = {}
    for session, task in zip(sessions, tasks, strict=True):
        error = ""
        if task.done() and not task.cancelled() and task.exception() is not None:
            error = repr(task.exception())
        elif session.excluded_reason:
            error = f"excluded: {session.excluded_reason}"
        stats = session.capture.stats
        profiles[session.exchange_id] = ExchangeProfile(
            exchange_id=session.exchange_id,
            seconds=elapsed,
            bytes_received=stats.bytes,
            reconnects=session.reconnects,
            ticks=stats.ticks,
            failed=stats.ticks == 0,
            error=error,
        )
    return profiles
