"""Command-line options of a running sandbox: seed, coins/exchanges and faults given at start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import ccxt
import pytest

from extract.exchanges.client import build_exchange

pytestmark = pytest.mark.slow

TIMEOUT_S = 10.0


async def get_json(url: str) -> Any:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)) as session:
        async with session.get(url) as response:
            return await response.json()


def test_same_seed_serves_the_same_history(start_sandbox: Callable[..., str]) -> None:
    """End to end through the CLI; that another seed gives other prices is a model unit test."""
    args = ("--exchanges", "binance", "--coins", "BTC", "--seed", "11")
    first, again = start_sandbox(*args), start_sandbox(*args)

    async def klines(base: str) -> list[list[Any]]:
        state = await get_json(f"{base}/_control/state")
        assert list(state["exchanges"]) == ["binance"]
        assert state["exchanges"]["binance"]["symbols"] == ["BTC/USDT"]
        server_ms = (await get_json(f"{base}/api.binance.com/api/v3/time"))["serverTime"]
        start = server_ms // 60_000 * 60_000 - 3 * 3_600_000
        path = "/api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=30"
        rows: list[list[Any]] = await get_json(f"{base}{path}&startTime={start}")
        return rows

    async def main() -> Any:
        return await asyncio.gather(klines(first), klines(again))

    a, b = asyncio.run(main())
    assert len(a) == 30
    assert a == b


def test_fault_given_on_the_command_line_applies_with_its_bound(
    start_sandbox: Callable[..., str],
) -> None:
    url = start_sandbox("--exchanges", "kraken", "--fault", "http_429:exchange=kraken,count=2")

    async def main() -> list[str]:
        exchange = build_exchange("kraken", sandbox_url=url)
        outcomes = []
        try:
            for _ in range(3):  # load_markets (Assets + AssetPairs) spends both 429s
                try:
                    await asyncio.wait_for(exchange.load_markets(reload=True), TIMEOUT_S)
                    outcomes.append("ok")
                except (ccxt.RateLimitExceeded, ccxt.DDoSProtection):
                    outcomes.append("429")
        finally:
            await exchange.close()
        return outcomes

    outcomes = asyncio.run(main())
    assert outcomes[-1] == "ok"
    assert "429" in outcomes


def test_a_client_that_stops_reading_is_closed_as_a_slow_consumer(
    start_sandbox: Callable[..., str],
) -> None:
    url = start_sandbox("--exchanges", "okx", "--coins", "BTC", "--max-queued-frames", "500")

    async def main() -> Any:
        timeout = aiohttp.ClientTimeout(total=4 * TIMEOUT_S)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            ws_url = url.replace("http://", "ws://") + "/ws.okx.com/ws/v5/public"
            # never read: once the socket buffers are full the sandbox's queue for it grows
            async with session.ws_connect(ws_url) as ws:
                await ws.send_str(
                    '{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}'
                )
                burst = {"exchange": "okx", "symbol": "BTC/USDT", "count": 100_000}
                async with session.post(f"{url}/_control/burst", json=burst) as response:
                    assert response.status == 200
                for _ in range(100):  # bounded: the sandbox closes or aborts it
                    await asyncio.sleep(0.1)
                    state = await get_json(f"{url}/_control/state")
                    if state["exchanges"]["okx"]["connections_open"] == 0:
                        break
                return state

    state = asyncio.run(main())
    okx = state["exchanges"]["okx"]
    assert okx["connections_open"] == 0
    assert okx["sent_total"] < 100_000  # it did not get the whole burst
