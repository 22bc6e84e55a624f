"""Capture benchmark: what landing every tick costs next to ccxt's own parsing.

Figures, all against one private sandbox (binance, real wire format) in the same run:

- baseline: ccxt's parse rate. Frames recorded from the sandbox are fed straight into a plain
  ccxt.pro exchange's websocket ``handle_message`` (JSON decode, parse, cache, resolve), no
  network; median of several passes.
- capture + land: the same frames through the same call on a capturing exchange whose ticks go
  through the landing pipeline into SQLite (WAL, batched commits), commit included. The ratio to
  the baseline is what landing costs: the goal is under 20% of the parse, i.e. a ratio >= 0.83.
- end to end: landed ticks per second of one worker's real session (sockets, capture, commits)
  while the sandbox sends a burst, from the first burst tick landed to the last.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
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


async def _burst(url: str, count: int) -> None:
    per_symbol = max(1, count // len(SYMBOLS))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
        for symbol in SYMBOLS:
            payload = {"exchange": EXCHANGE, "symbol": symbol, "count": per_symbol}
            async with http.post(f"{url}/_control/burst", json=payload) as response:
                response.raise_for_status()


async def _record_frames(url: str, count: int) -> tuple[str, list[str]]:
    """Frames as they arrive at ccxt's websocket client, recorded during a burst."""
    exchange = build_exchange(EXCHANGE, sandbox_url=url)
    frames: list[str] = []
    try:
        await asyncio.wait_for(exchange.watch_tickers(list(SYMBOLS)), timeout=30)
        client = next(iter(exchange.clients.values()))
        original = client.handle_message

        def recording(message: Any) -> None:
            if message.type == WSMsgType.TEXT:
                frames.append(message.data)
            original(message)

        client.handle_message = recording
        await _burst(url, count)
        await _wait_until(lambda: len(frames) >= count, 60)
        return str(client.url), frames[:count]
    finally:
        await exchange.close()


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
    parse_per_s: float
    land_per_s: float
    paired_wall: float  # capture + land time / parse time, median over passes (wall clock)
    paired_cpu: float  # the same in CPU time of the process (the commit thread included)


async def _offline_rates(url: str, client_url: str, frames: list[str]) -> OfflineRates:
    """Frames/s of ccxt alone and of ccxt with capture + landing, no network, on the worker's
    path (commits in their thread while frames are handled)."""
    messages = [WSMessage(WSMsgType.TEXT, frame, None) for frame in frames]
    plain = build_exchange(EXCHANGE, sandbox_url=url)
    capturing = build_exchange(EXCHANGE, sandbox_url=url)
    parse_s: list[float] = []
    land_s: list[float] = []
    parse_cpu_s: list[float] = []
    land_cpu_s: list[float] = []
    with tempfile.TemporaryDirectory() as directory:
        writer = LandingWriter(Path(directory) / "bench.sqlite", worker_id=0)
        try:
            await asyncio.wait_for(plain.load_markets(), timeout=30)
            await asyncio.wait_for(capturing.load_markets(), timeout=30)
            capture = ExchangeCapture(EXCHANGE, spec_for(EXCHANGE), _NullSink())
            install_capture(capturing, capture)
            plain_client = plain.client(client_url)
            capturing_client = capturing.client(client_url)
            for _ in range(PASSES):
                started, started_cpu = time.perf_counter(), time.process_time()
                await _feed(plain_client, messages)
                parse_s.append(time.perf_counter() - started)
                parse_cpu_s.append(time.process_time() - started_cpu)
                pipeline = LandingPipeline(
                    writer, batch_size=500, flush_interval_s=0.5, queue_size=10**7
                )
                capture.sink = pipeline
                started, started_cpu = time.perf_counter(), time.process_time()
                pipeline.start()
                await _feed(capturing_client, messages)
                if not await pipeline.drain(attempts=1):
                    raise RuntimeError("the benchmark landing database refused a commit")
                land_s.append(time.perf_counter() - started)
                land_cpu_s.append(time.process_time() - started_cpu)
        finally:
            writer.close()
            await plain.close()
            await capturing.close()
    return OfflineRates(
        parse_per_s=len(frames) / statistics.median(parse_s),
        land_per_s=len(frames) / statistics.median(land_s),
        paired_wall=_paired(land_s, parse_s),
        paired_cpu=_paired(land_cpu_s, parse_cpu_s),
    )


def _paired(land: list[float], parse: list[float]) -> float:
    """Median of per-pass time ratios: the passes alternate, so load drift hits both alike."""
    return statistics.median(a / b for a, b in zip(land, parse, strict=True))


async def _end_to_end_rate(url: str, count: int) -> float:
    """Landed ticks/s of one real session while the sandbox bursts ``count`` updates."""
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
            started = time.perf_counter()
            await _burst(url, count)
            await _wait_until(lambda: pipeline.stats.ticks_landed >= baseline + count, 120)
            elapsed = time.perf_counter() - started
            landed = pipeline.stats.ticks_landed - baseline
        finally:
            stop.set()
            await asyncio.wait([task], timeout=15)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await pipeline.drain(attempts=1)
            writer.close()
        return landed / elapsed


async def _measure(count: int) -> tuple[OfflineRates, float]:
    with SandboxProcess("--exchanges", EXCHANGE) as sandbox:
        url = sandbox.url
        client_url, frames = await _record_frames(url, count)
        if len(frames) < count:
            raise RuntimeError(f"recorded only {len(frames)} of {count} frames")
        offline = await _offline_rates(url, client_url, frames)
        end_to_end = await _end_to_end_rate(url, count)
    return offline, end_to_end


def run(scale: float = 1.0) -> list[BenchResult]:
    count = max(1_000, int(FRAMES_AT_SCALE_1 * scale))
    offline, end_to_end = asyncio.run(_measure(count))
    baseline = f"ccxt.pro {EXCHANGE} handle_message alone, recorded frames, no network"
    notes = (
        f"{count} recorded ticker frames, {len(SYMBOLS)} symbols, median of {PASSES} alternating "
        f"passes; landing costs {offline.paired_wall - 1:.0%} of the parse in wall time, "
        f"{offline.paired_cpu - 1:.0%} in CPU time (median of paired per-pass ratios)"
    )
    return [
        BenchResult(
            benchmark="capture",
            metric="capture + land ticks/s (recorded frames, no network, commits included)",
            unit="ticks/s",
            value=offline.land_per_s,
            baseline_name=baseline,
            baseline_value=offline.parse_per_s,
            higher_is_better=True,
            runs=PASSES,
            goal="landing costs < 20% of the parse: ratio >= 0.83",
            notes=notes,
        ),
        BenchResult(
            benchmark="capture",
            metric="landed ticks/s per worker, end to end against the sandbox (burst)",
            unit="ticks/s",
            value=end_to_end,
            baseline_name=baseline,
            baseline_value=offline.parse_per_s,
            higher_is_better=True,
            runs=1,
            goal="bounded by the sandbox's send rate; reported, no target",
            notes=f"burst of {count} updates over {len(SYMBOLS)} symbols, one session",
        ),
    ]


if __name__ == "__main__":
    for result in run(float(sys.argv[1]) if len(sys.argv) > 1 else 1.0):
        print(
            f"{result.metric}: {result.value:,.0f} {result.unit} vs {result.baseline_name}: "
            f"{result.baseline_value:,.0f} (ratio {result.ratio:.2f}) {result.notes}"
        )
