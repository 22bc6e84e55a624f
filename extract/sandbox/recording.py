"""Record ticker frames as they reach ccxt's websocket client, during a sandbox burst.

The capture benchmark and the fast-path differential test both replay such frames through
``client.handle_message``, so both see exactly the wire format ccxt receives.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import aiohttp
from aiohttp import WSMsgType

from extract.exchanges.client import build_exchange

_TIMEOUT_S = 60.0


async def burst(url: str, exchange_id: str, symbols: Sequence[str], count: int) -> None:
    """Ask the sandbox to send about ``count`` updates, spread over ``symbols``."""
    per_symbol = max(1, count // len(symbols))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=_TIMEOUT_S)) as http:
        for symbol in symbols:
            payload = {"exchange": exchange_id, "symbol": symbol, "count": per_symbol}
            async with http.post(f"{url}/_control/burst", json=payload) as response:
                response.raise_for_status()


async def record_ticker_frames(
    url: str, exchange_id: str, symbols: Sequence[str], count: int
) -> tuple[str, list[str]]:
    """The websocket URL and the first ``count`` text frames after subscribing to ``symbols``'
    tickers (one ``watch_tickers``, or one ``watch_ticker`` per symbol where ccxt has no
    ``watch_tickers``) while the sandbox bursts. Fewer frames when the wait runs out."""
    exchange = build_exchange(exchange_id, sandbox_url=url)
    frames: list[str] = []
    try:
        if exchange.has.get("watchTickers"):
            await asyncio.wait_for(exchange.watch_tickers(list(symbols)), _TIMEOUT_S)
        else:
            watches = [exchange.watch_ticker(symbol) for symbol in symbols]
            await asyncio.wait_for(asyncio.gather(*watches), _TIMEOUT_S)
        client = next(iter(exchange.clients.values()))
        original = client.handle_message
        enough = asyncio.Event()

        def recording(message: Any) -> None:
            if message.type == WSMsgType.TEXT:
                frames.append(message.data)
                if len(frames) >= count:
                    enough.set()
            original(message)

        client.handle_message = recording
        await burst(url, exchange_id, symbols, count)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(enough.wait(), _TIMEOUT_S)
        return str(client.url), frames[:count]
    finally:
        await exchange.close()
