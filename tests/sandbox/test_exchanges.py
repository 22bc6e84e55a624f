"""Real ccxt.pro clients against the sandbox: markets, tickers over REST and websockets, OHLCV."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from extract.exchanges.client import build_exchange
from extract.sandbox.venues import VENUES
from extract.timeutil import parse_utc

pytestmark = pytest.mark.slow

EXCHANGES = tuple(VENUES)
QUOTE = {"binance": "USDT", "kraken": "USD", "coinbase": "USD", "okx": "USDT"}
T = TypeVar("T")
STEP_TIMEOUT_S = 10.0


def run_with(exchange_id: str, url: str, scenario: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        exchange = build_exchange(exchange_id, sandbox_url=url)
        try:
            return await asyncio.wait_for(scenario(exchange), STEP_TIMEOUT_S * 3)
        finally:
            await exchange.close()

    return asyncio.run(main())


@pytest.mark.parametrize("exchange_id", EXCHANGES)
def test_markets_tickers_and_time_over_rest(exchange_id: str, sandbox_url: str) -> None:
    symbol = f"BTC/{QUOTE[exchange_id]}"

    async def scenario(exchange: Any) -> tuple[Any, ...]:
        markets = await asyncio.wait_for(exchange.load_markets(), STEP_TIMEOUT_S)
        ticker = await asyncio.wait_for(exchange.fetch_ticker(symbol), STEP_TIMEOUT_S)
        tickers = await asyncio.wait_for(exchange.fetch_tickers(), STEP_TIMEOUT_S)
        server_ms = await asyncio.wait_for(exchange.fetch_time(), STEP_TIMEOUT_S)
        return dict(markets), ticker, tickers, server_ms, exchange.milliseconds()

    markets, ticker, tickers, server_ms, local_ms = run_with(exchange_id, sandbox_url, scenario)
    for coin in ("BTC", "ETH", "SOL", "XRP", "DOGE"):
        assert f"{coin}/{QUOTE[exchange_id]}" in markets
    assert all(market["spot"] and market["type"] == "spot" for market in markets.values())
    assert ticker["symbol"] == symbol
    assert 0 < ticker["bid"] < ticker["ask"]
    assert ticker["last"] > 0
    assert set(tickers) == set(markets)
    assert abs(server_ms - local_ms) < 5_000


@pytest.mark.parametrize("exchange_id", EXCHANGES)
def test_fetch_ohlcv_returns_24h_of_one_minute_candles(exchange_id: str, sandbox_url: str) -> None:
    symbol = f"ETH/{QUOTE[exchange_id]}"

    async def scenario(exchange: Any) -> tuple[list[list[float]], int]:
        await asyncio.wait_for(exchange.load_markets(), STEP_TIMEOUT_S)
        now = exchange.milliseconds()
        since = now - 24 * 3_600_000
        candles: list[list[float]] = []
        cursor = since
        for _ in range(10):  # bounded paging
            page = await asyncio.wait_for(
                exchange.fetch_ohlcv(symbol, "1m", since=cursor, limit=1000), STEP_TIMEOUT_S
            )
            page = [row for row in page if row[0] >= cursor]
            if not page:
                break
            candles += page
            cursor = page[-1][0] + 60_000
        return candles, since

    candles, since = run_with(exchange_id, sandbox_url, scenario)
    times = [row[0] for row in candles]
    assert len(candles) >= 1439
    assert times == sorted(set(times))
    assert all(b - a == 60_000 for a, b in itertools.pairwise(times))
    assert times[0] - since < 60_000
    for _, open_, high, low, close, volume in candles:
        assert low <= min(open_, close) <= max(open_, close) <= high
        assert volume > 0


@pytest.mark.parametrize("exchange_id", EXCHANGES)
def test_watch_ticker_and_tickers_carry_bid_ask_last_and_exchange_time(
    exchange_id: str, sandbox_url: str
) -> None:
    quote = QUOTE[exchange_id]
    symbols = [f"BTC/{quote}", f"ETH/{quote}", f"SOL/{quote}"]

    async def scenario(exchange: Any) -> tuple[list[Any], dict[str, Any], int]:
        await asyncio.wait_for(exchange.load_markets(), STEP_TIMEOUT_S)
        started = exchange.milliseconds()
        single = [
            await asyncio.wait_for(exchange.watch_ticker(symbols[0]), STEP_TIMEOUT_S)
            for _ in range(2)
        ]
        seen: dict[str, Any] = {}
        for _ in range(50):  # bounded: each symbol updates about once a second
            seen.update(await asyncio.wait_for(exchange.watch_tickers(symbols), STEP_TIMEOUT_S))
            if set(seen) >= set(symbols):
                break
        return single, seen, started

    single, seen, started = run_with(exchange_id, sandbox_url, scenario)
    assert set(seen) >= set(symbols)
    for ticker in [*single, *seen.values()]:
        assert 0 < ticker["bid"] < ticker["ask"]
        assert ticker["last"] > 0
        exchange_ms = exchange_time_ms(exchange_id, ticker)
        assert started - 5_000 < exchange_ms < started + 60_000


def exchange_time_ms(exchange_id: str, ticker: dict[str, Any]) -> int:
    """The exchange time of a ticker: ccxt's timestamp, or the raw field where ccxt has none."""
    if exchange_id == "binance":  # ccxt's timestamp is the stats close time, E the event time
        return int(ticker["info"]["E"])
    if exchange_id == "kraken":  # ccxt leaves the timestamp empty; the frame carries one
        return int(parse_utc(ticker["info"]["timestamp"]).timestamp() * 1000)
    timestamp = ticker["timestamp"]
    assert timestamp is not None
    return int(timestamp)
