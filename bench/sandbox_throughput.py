"""Sandbox throughput: ticker messages per second delivered to websocket clients, on schedule.

The sandbox runs as its own process (``python -m extract sandbox``) with every exchange's update
rate turned up; N raw websocket clients subscribe to every listing of all four exchanges and
count the ticker frames they receive. The sandbox's own schedule-lag figures (how late each
update left compared with its scheduled send time) come from ``GET /_control/state``.

Baseline, same run, same clients: a bare aiohttp websocket server (also its own process) that
sends one pre-serialized ticker frame to every client in a tight loop, i.e. the most this
machine's aiohttp can push with no model, no schedule and no protocol at all.

Goal: >= 5,000 ticker messages/s in total without falling behind the schedule.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.result import BenchResult

REPO_ROOT = Path(__file__).resolve().parent.parent
CLIENTS = 4
RATE_SCALE = 25.0  # 55 updates/s at scale 1 -> ~1,375 updates/s, x 4 clients ~ 5,500 msg/s
WINDOW_S = 10.0
BASELINE_WINDOW_S = 5.0
RUNS = 3
WARMUP_S = 2.0
GOAL_MSG_PER_S = 5_000
LATE_MS = 50
TICKER_MARKERS = ('"e":"24hrTicker"', '"channel":"ticker"', '"arg":{"channel":"tickers"')
BASELINE_FRAME = json.dumps(
    {
        "e": "24hrTicker",
        "E": 1_700_000_000_000,
        "s": "BTCUSDT",
        "c": "65000.10",
        "b": "65000.00",
        "a": "65000.20",
        "v": "1234.5",
        "C": 1_700_000_000_000,
    },
    separators=(",", ":"),
)


def _subscriptions(symbols: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(path, subscribe frame) per exchange, in each exchange's own protocol."""
    binance = [s.replace("/", "").lower() + "@ticker" for s in symbols["binance"]]
    okx = [{"channel": "tickers", "instId": s.replace("/", "-")} for s in symbols["okx"]]
    coinbase = [s.replace("/", "-") for s in symbols["coinbase"]]
    return [
        ("/stream.binance.com/ws", json.dumps({"method": "SUBSCRIBE", "params": binance, "id": 1})),
        (
            "/ws.kraken.com/v2",
            json.dumps(
                {
                    "method": "subscribe",
                    "req_id": 1,
                    "params": {"channel": "ticker", "symbol": symbols["kraken"]},
                }
            ),
        ),
        (
            "/advanced-trade-ws.coinbase.com",
            json.dumps({"type": "subscribe", "channel": "ticker", "product_ids": coinbase}),
        ),
        ("/ws.okx.com/ws/v5/public", json.dumps({"op": "subscribe", "args": okx})),
    ]


class Counter:
    def __init__(self) -> None:
        self.tickers = 0
        self.counting = False


async def _client(
    url: str, subscriptions: list[tuple[str, str]], counter: Counter, stop: asyncio.Event
) -> None:
    """One client: a socket per exchange, counting ticker frames while the window is open."""
    ws_base = url.replace("http://", "ws://")
    async with aiohttp.ClientSession() as session:
        sockets = []
        for path, frame in subscriptions:
            ws = await session.ws_connect(ws_base + path, compress=0, max_msg_size=0)
            await ws.send_str(frame)
            sockets.append(ws)

        async def read(ws: aiohttp.ClientWebSocketResponse) -> None:
            while not stop.is_set():
                try:
                    message = await asyncio.wait_for(ws.receive(), 1.0)
                except TimeoutError:
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    return
                if counter.counting and message.data.startswith(TICKER_MARKERS, 1):
                    counter.tickers += 1

        await asyncio.gather(*(read(ws) for ws in sockets))
        # leaving the session drops the sockets; a close handshake could wait behind a flood


async def _measure(
    url: str, subscriptions: list[tuple[str, str]], window_s: float, state_url: str | None
) -> tuple[float, dict[str, Any]]:
    counter = Counter()
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(_client(url, subscriptions, counter, stop)) for _ in range(CLIENTS)
    ]
    await asyncio.sleep(WARMUP_S)
    if state_url:  # the window's own lag figures
        await _post(state_url.replace("/state", "/reset"))
    counter.counting = True
    started = time.perf_counter()
    await asyncio.sleep(window_s)
    counter.counting = False
    elapsed = time.perf_counter() - started
    after = await _state(state_url) if state_url else {}
    stop.set()
    await asyncio.wait_for(asyncio.gather(*clients), 10)
    return counter.tickers / elapsed, after


async def _post(url: str) -> None:
    async with aiohttp.ClientSession() as session, session.post(url, json={}) as response:
        response.raise_for_status()


async def _state(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        state: dict[str, Any] = await response.json()
        return state


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, line.split()[-1]


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _lag(state: dict[str, Any]) -> tuple[float, float, int, int]:
    """(max lag ms, mean lag ms, updates sent late, updates) in one window, all exchanges."""
    lags = [info["schedule_lag"] for info in state["exchanges"].values()]
    updates = sum(lag["updates"] for lag in lags)
    mean = sum(lag["mean_ms"] * lag["updates"] for lag in lags) / max(updates, 1)
    late = sum(lag["late_over_50ms"] for lag in lags)
    return max(lag["max_ms"] for lag in lags), mean, late, updates


def run(scale: float = 1.0) -> list[BenchResult]:
    window_s = WINDOW_S * scale
    sandbox, url = _start(
        [sys.executable, "-m", "extract", "sandbox", "--port", "0", "--rate-scale", str(RATE_SCALE)]
    )
    try:
        state = asyncio.run(_state(f"{url}/_control/state"))
        subscriptions = _subscriptions({ex: i["symbols"] for ex, i in state["exchanges"].items()})
        windows = [
            asyncio.run(_measure(url, subscriptions, window_s, f"{url}/_control/state"))
            for _ in range(RUNS)
        ]
    finally:
        _stop(sandbox)
    rates = [rate for rate, _ in windows]
    lags = [_lag(window_state) for _, window_state in windows]
    max_lag = max(lag[0] for lag in lags)
    mean_lag = statistics.median(lag[1] for lag in lags)
    late = sum(lag[2] for lag in lags)
    updates = sum(lag[3] for lag in lags)

    baseline, base_url = _start(
        [sys.executable, "-m", "bench.sandbox_throughput", "--baseline-server"]
    )
    try:
        baseline_rates = [
            asyncio.run(_measure(base_url, subscriptions, BASELINE_WINDOW_S * scale, None))[0]
            for _ in range(RUNS)
        ]
    finally:
        _stop(baseline)

    return [
        BenchResult(
            benchmark="sandbox_throughput",
            metric=f"ticker messages/s delivered to {CLIENTS} ws clients (4 exchanges each)",
            unit="msg/s",
            value=statistics.median(rates),
            baseline_name="bare aiohttp send loop, one pre-serialized frame",
            baseline_value=statistics.median(baseline_rates),
            higher_is_better=True,
            runs=RUNS,
            goal=f">= {GOAL_MSG_PER_S:,} msg/s, updates <= {LATE_MS} ms behind schedule",
            notes=(
                f"{RUNS} windows of {window_s:.0f} s at rate-scale {RATE_SCALE:g} "
                f"({updates / (RUNS * window_s):,.0f} updates/s scheduled, each to {CLIENTS} "
                f"clients); schedule lag median-of-means {mean_lag:.2f} ms, max {max_lag:.1f} ms; "
                f"{late} of {updates} updates more than {LATE_MS} ms late"
            ),
        )
    ]


async def _serve_baseline() -> None:
    """The baseline server: every socket gets the same frame as fast as aiohttp sends."""

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        await ws.receive()  # the client's subscribe frame, ignored
        with contextlib.suppress(ConnectionError):
            while not ws.closed:
                for _ in range(100):
                    await ws.send_str(BASELINE_FRAME)
                await asyncio.sleep(0)
        return ws

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    print(f"baseline listening on http://{host}:{port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--baseline-server", action="store_true")
    parser.add_argument("--scale", type=float, default=1.0)
    cli = parser.parse_args()
    if cli.baseline_server:
        asyncio.run(_serve_baseline())
    else:
        for result in run(cli.scale):
            print(result)
