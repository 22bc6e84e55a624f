"""Capture benchmark: what landing every tick costs, through ccxt and through the fast path.

Figures, all against one private sandbox (binance, real wire format) in the same run. Frames are
recorded from the sandbox during a burst, then replayed with no network into ccxt's websocket
``handle_message``, three ways per pass (alternating, so load drift hits all alike):

- ccxt alone: a plain ccxt.pro exchange (JSON decode, parse, cache, resolve), nothing landed;
- through ccxt: a capturing exchange whose spec has no fast path, so every tick is ccxt's unified
  ticker, landed through the pipeline into SQLite (WAL, batched commits, commit included): the
  collector as it was before the fast path;
- fast path: the shipped spec, where a frame of a market ccxt already mapped skips ccxt.

Reported: CPU seconds per 100k landed ticks (fast path vs through ccxt; the commit thread is
counted), ticks/s against ccxt alone, and one real session end to end (sockets included) while
the sandbox bursts.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from aiohttp import WSMessage, WSMsgType

from bench.result import BenchResult
from extract.collector.capture import ExchangeCapture, install_capture
from extract.collector.config import build_config
from extract.collector.pipeline import LandingPipeline
from extract.collector.records import ConnectionEvent, Tick
from extract.collector.session import ExchangeSession
from extract.collector.writer import LandingWriter
from extract.exchanges import spec_for
from extract.exchanges.client import build_exchange
from extract.sandbox.process import SandboxProcess
from extract.sandbox.recording import burst, record_ticker_frames

EXCHANGE = "binance"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT")
FRAMES_AT_SCALE_1 = 20_000
PASSES = 9
FEED_CHUNK = 100


class _NullSink:
    def tick(self, tick: Tick) -> None:
        return None

    def event(self, event: ConnectionEvent) -> None:
        return None


async def _wait_until(condition: Callable[[], bool], timeout_s: float) -> None:
    """Poll ``condition`` until it holds or ``timeout_s`` passes (then the caller's figures
    show the shortfall)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(0.01)


async def _feed(client: Any, messages: list[WSMessage]) -> None:
    """Hand frames to ccxt's websocket client as its receive loop does, yielding to the event
    loop between chunks (so the landing pipeline commits alongside, as in a worker)."""
    handle = client.handle_message
    for start in range(0, len(messages), FEED_CHUNK):
        for message in messages[start : start + FEED_CHUNK]:
            handle(message)
        await asyncio.sleep(0)


@dataclass(frozen=True)
class OfflineRates:
    frames: int
    parse: list[tuple[float, float]]  # (wall s, CPU s) per pass: ccxt alone
    ccxt_land: list[tuple[float, float]]  # capture + land with every frame through ccxt
    fast_land: list[tuple[float, float]]  # capture + land with the shipped fast path

    def per_s(self, passes: list[tuple[float, float]]) -> float:
        return self.frames / statistics.median(wall for wall, _ in passes)

    def cpu_per_100k(self, passes: list[tuple[float, float]]) -> float:
        return statistics.median(cpu for _, cpu in passes) * 100_000 / self.frames


async def _timed_pass(
    client: Any, messages: list[WSMessage], pipeline: LandingPipeline | None
) -> tuple[float, float]:
    """Wall and process CPU seconds (the commit thread included) of feeding the frames and,
    with a pipeline, committing every landed tick."""
    started, started_cpu = time.perf_counter(), time.process_time()
    if pipeline is not None:
        pipeline.start()
    await _feed(client, messages)
    if pipeline is not None and not await pipeline.drain(attempts=1):
        raise RuntimeError("the benchmark landing database refused a commit")
    return time.perf_counter() - started, time.process_time() - started_cpu


async def _offline_rates(url: str, client_url: str, frames: list[str]) -> OfflineRates:
    """ccxt alone, then capture + landing through ccxt's parser, then through the fast path,
    alternating per pass; no network, on the worker's path (commits in their thread while
    frames are handled)."""
    messages = [WSMessage(WSMsgType.TEXT, frame, None) for frame in frames]
    shipped = spec_for(EXCHANGE)
    exchanges = [build_exchange(EXCHANGE, sandbox_url=url) for _ in range(3)]
    rates = OfflineRates(len(frames), [], [], [])
    with tempfile.TemporaryDirectory() as directory:
        writer = LandingWriter(Path(directory) / "bench.sqlite", worker_id=0)
        try:
            for exchange in exchanges:
                await asyncio.wait_for(exchange.load_markets(), timeout=30)
            plain, through_ccxt, fast = exchanges
            captures = []
            variants = ((through_ccxt, replace(shipped, fast_path=None)), (fast, shipped))
            for exchange, spec in variants:
                capture = ExchangeCapture(EXCHANGE, spec, _NullSink())
                install_capture(exchange, capture)
                captures.append((capture, exchange.client(client_url)))
            plain_client = plain.client(client_url)
            for _ in range(PASSES):
                rates.parse.append(await _timed_pass(plain_client, messages, None))
                for (capture, client), passes in zip(
                    captures, (rates.ccxt_land, rates.fast_land), strict=True
                ):
                    pipeline = LandingPipeline(
                        writer, batch_size=500, flush_interval_s=0.5, queue_size=10**7
                    )
                    capture.sink = pipeline
                    passes.append(await _timed_pass(client, messages, pipeline))
        finally:
            writer.close()
            for exchange in exchanges:
                await exchange.close()
    return rates


@dataclass(frozen=True)
class EndToEnd:
    ticks_per_s: float
    cpu_per_100k: float  # this process's CPU s per 100k landed ticks (the sandbox is another)
    landed: int


async def _end_to_end(url: str, count: int) -> EndToEnd:
    """Landed ticks/s and CPU of one real session while the sandbox bursts ``count`` updates."""
    with tempfile.TemporaryDirectory() as directory:
        config = build_config(
            {
                "sandbox": url,
                "exchanges": [EXCHANGE],
                "symbols": list(SYMBOLS),
                "worker_db_template": str(Path(directory) / "worker_{worker_id}.sqlite"),
                "flush_interval_s": 0.2,
                "backfill": False,
                "status_interval_s": 60,
            },
            source="benchmark",
        )
        writer = LandingWriter(config.worker_db_path(0), worker_id=0)
        pipeline = LandingPipeline(
            writer, batch_size=config.batch_size, flush_interval_s=0.2, queue_size=10**7
        )
        stop = asyncio.Event()
        session = ExchangeSession(EXCHANGE, config, pipeline, stop)
        task = asyncio.create_task(session.run())
        pipeline.start()
        try:
            await _wait_until(lambda: session.capture.stats.ticks > 0, 30)
            baseline = pipeline.stats.ticks_landed + pipeline.depth
            started, started_cpu = time.perf_counter(), time.process_time()
            await burst(url, EXCHANGE, SYMBOLS, count)
            await _wait_until(lambda: pipeline.stats.ticks_landed >= baseline + count, 120)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
            landed = pipeline.stats.ticks_landed - baseline
        finally:
            stop.set()
            await asyncio.wait([task], timeout=15)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await pipeline.drain(attempts=1)
            writer.close()
        return EndToEnd(landed / elapsed, cpu * 100_000 / max(landed, 1), landed)


async def _measure(count: int) -> tuple[OfflineRates, EndToEnd]:
    with SandboxProcess("--exchanges", EXCHANGE) as sandbox:
        url = sandbox.url
        client_url, frames = await record_ticker_frames(url, EXCHANGE, SYMBOLS, count)
        if len(frames) < count:
            raise RuntimeError(f"recorded only {len(frames)} of {count} frames")
        offline = await _offline_rates(url, client_url, frames)
        end_to_end = await _end_to_end(url, count)
    return offline, end_to_end


def run(scale: float = 1.0) -> list[BenchResult]:
    count = max(1_000, int(FRAMES_AT_SCALE_1 * scale))
    offline, end_to_end = asyncio.run(_measure(count))
    frames = f"{count} recorded {EXCHANGE} ticker frames, {len(SYMBOLS)} symbols"
    passes = f"median of {PASSES} alternating passes, no network, commits included"
    ccxt_land = "capture + land with every frame through ccxt's parser (the collector before)"
    return [
        BenchResult(
            benchmark="capture",
            metric="CPU s per 100k ticks landed, fast path (capture + land, SQLite WAL)",
            unit="CPU s",
            value=offline.cpu_per_100k(offline.fast_land),
            baseline_name=ccxt_land,
            baseline_value=offline.cpu_per_100k(offline.ccxt_land),
            higher_is_better=False,
            runs=PASSES,
            goal="at most cryptofeed's lossless SQLite landing (issue 17's review: 1.95-2.30)",
            notes=(
                f"{frames}, {passes}; ccxt's parse alone costs "
                f"{offline.cpu_per_100k(offline.parse):.2f} CPU s per 100k"
            ),
        ),
        BenchResult(
            benchmark="capture",
            metric="capture + land ticks/s, fast path (recorded frames, no network)",
            unit="ticks/s",
            value=offline.per_s(offline.fast_land),
            baseline_name=f"ccxt.pro {EXCHANGE} handle_message alone (parse, no landing)",
            baseline_value=offline.per_s(offline.parse),
            higher_is_better=True,
            runs=PASSES,
            goal="landing every tick costs less than ccxt's own parse: ratio >= 1",
            notes=f"{frames}, {passes}; through ccxt: {offline.per_s(offline.ccxt_land):,.0f}/s",
        ),
        BenchResult(
            benchmark="capture",
            metric="CPU s per 100k ticks landed, one session end to end (sockets included)",
            unit="CPU s",
            value=end_to_end.cpu_per_100k,
            baseline_name=ccxt_land + ", offline",
            baseline_value=offline.cpu_per_100k(offline.ccxt_land),
            higher_is_better=False,
            runs=1,
            goal="reported; the sandbox's own CPU is not counted",
            notes=(
                f"burst of {count} updates over {len(SYMBOLS)} symbols, {end_to_end.landed} landed "
                f"at {end_to_end.ticks_per_s:,.0f} ticks/s"
            ),
        ),
    ]


if __name__ == "__main__":
    for result in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(
            f"{result.metric}: {result.value:,.3g} {result.unit} vs {result.baseline_name}: "
            f"{result.baseline_value:,.3g} (ratio {result.ratio:.2f}) {result.notes}"
        )
