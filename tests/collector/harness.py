"""Run the collector's real sessions in-process against a sandbox, and read what landed.

In-process runs use exactly the worker's parts (sessions with the capture hooks, the landing
pipeline, the SQLite writer) and real ccxt; only the process boundary is skipped, which keeps a
fault test to seconds. Tests that need processes (SIGKILL, the CLI) start ``python -m extract``.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp

from extract.collector.config import CollectorConfig, build_config
from extract.collector.pipeline import LandingPipeline
from extract.collector.session import ExchangeSession
from extract.collector.worker import backfill_since_us
from extract.collector.writer import LandingWriter

# Short limits so a fault plays out in seconds; every wait below is bounded.
FAST_OPTIONS: dict[str, Any] = {
    "stale_after_s": 3.0,
    "subscribe_timeout_s": 4.0,
    "reconnect_base_s": 0.2,
    "reconnect_max_s": 2.0,
    "flush_interval_s": 0.1,
    "request_timeout_s": 5.0,
    "status_interval_s": 60.0,
    "drain_timeout_s": 10.0,
}
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=10)


def fast_config(tmp_path: Path, sandbox_url: str, **overrides: Any) -> CollectorConfig:
    options = {
        **FAST_OPTIONS,
        "sandbox": sandbox_url,
        "worker_db_template": str(tmp_path / "worker_{worker_id}.sqlite"),
        "plan_output": str(tmp_path / "plan.json"),
        **overrides,
    }
    return build_config(options, source="test")


async def control(sandbox_url: str, path: str, payload: object | None = None) -> Any:
    """Call the sandbox control API (``/_control/<path>``) and return its JSON answer."""
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        url = f"{sandbox_url}/_control/{path}"
        if payload is None and path == "state":
            async with http.get(url) as response:
                response.raise_for_status()
                return await response.json()
        async with http.post(url, json=payload if payload is not None else {}) as response:
            body = await response.json()
            assert response.status == 200, body
            return body


async def sent_count(sandbox_url: str, exchange: str, symbol: str | None = None) -> int:
    state = await control(sandbox_url, "state")
    venue = state["exchanges"][exchange]
    return int(venue["sent"][symbol] if symbol else venue["sent_total"])


class InProcessCollector:
    """``async with InProcessCollector(config, ["binance"]) as run: ...`` — a worker in-process."""

    def __init__(self, config: CollectorConfig, exchanges: Sequence[str], worker_id: int = 0):
        self.config = config
        self.exchanges = list(exchanges)
        self.db_path = config.worker_db_path(worker_id)
        self.writer = LandingWriter(self.db_path, worker_id, int(config.landing_max_mb * 2**20))
        self.pipeline = LandingPipeline(
            self.writer,
            batch_size=config.batch_size,
            flush_interval_s=config.flush_interval_s,
            queue_size=config.queue_size,
        )
        self.stop = asyncio.Event()
        self.sessions = [
            ExchangeSession(
                name,
                config,
                self.pipeline,
                self.stop,
                resume_since_us=backfill_since_us(self.writer, name, config),
            )
            for name in self.exchanges
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> InProcessCollector:
        self._tasks = [asyncio.create_task(session.run()) for session in self.sessions]
        self.pipeline.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop.set()
        _, pending = await asyncio.wait(self._tasks, timeout=self.config.drain_timeout_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.pipeline.drain(attempts=1)
        self.writer.close()
        errors = [t.exception() for t in self._tasks if not t.cancelled() and t.exception()]
        assert not errors, f"a session crashed: {errors}"
        assert not pending, "a session did not stop within the drain timeout"

    def session(self, exchange: str) -> ExchangeSession:
        return next(s for s in self.sessions if s.exchange_id == exchange)

    async def until(
        self, condition: Callable[[], bool], timeout_s: float, what: str = "condition"
    ) -> float:
        """Wait (bounded) until ``condition()`` holds; return the seconds it took."""
        started = time.monotonic()
        while not condition():
            if time.monotonic() - started > timeout_s:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    def count(self, sql: str, *params: object) -> int:
        """Count committed rows (the pipeline commits every flush_interval_s)."""
        return int(query(self.db_path, sql, *params)[0][0])

    def events(self, event_type: str, exchange: str | None = None) -> list[dict[str, Any]]:
        return events(self.db_path, event_type, exchange)


def query(db_path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db_path, timeout=10)
    try:
        return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def events(db_path: Path, event_type: str, exchange: str | None = None) -> list[dict[str, Any]]:
    sql = (
        "SELECT event_ts_us, exchange_id, symbol, connection_id, details_json "
        "FROM connection_events WHERE event_type = ?"
    )
    params: list[object] = [event_type]
    if exchange is not None:
        sql += " AND exchange_id = ?"
        params.append(exchange)
    rows = query(db_path, sql + " ORDER BY id", *params)
    return [
        {"ts_us": ts, "exchange": ex, "symbol": sym, "connection_id": conn, **json.loads(details)}
        for ts, ex, sym, conn, details in rows
    ]


def report(promise: str, injected: str, expected: str, observed: str) -> None:
    """Every fault test prints what it injected, what it expected and what it saw."""
    print(
        f"\nPROMISE: {promise}\n  injected: {injected}\n  expected: {expected}\n"
        f"  observed: {observed}"
    )
