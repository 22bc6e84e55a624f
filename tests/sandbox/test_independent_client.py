"""An independent ccxt.pro client: default exchange settings, only the documented URL override.

Written from ccxt's manual (``exchange.urls['api']`` may be overridden) and the sandbox's
addressing rule (``scheme://host/path`` -> ``http://127.0.0.1:PORT/host/path``), without using
the sandbox's client factory, so it proves any ccxt user can point at the sandbox.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.pro
import pytest

pytestmark = pytest.mark.slow

TIMEOUT_S = 15.0


def api_overrides(exchange_id: str, http: str, ws: str) -> dict[str, Any]:
    """The URLs each exchange's public market data uses, re-rooted by hand."""
    if exchange_id == "binance":
        return {
            "public": f"{http}/api.binance.com/api/v3",
            "fapiPublic": f"{http}/fapi.binance.com/fapi/v1",
            "dapiPublic": f"{http}/dapi.binance.com/dapi/v1",
            "ws": {"spot": f"{ws}/stream.binance.com/ws"},
        }
    if exchange_id == "kraken":
        return {
            "public": f"{http}/api.kraken.com",
            "ws": {"publicV2": f"{ws}/ws.kraken.com/v2"},
        }
    if exchange_id == "coinbase":
        return {"rest": f"{http}/api.coinbase.com", "ws": f"{ws}/advanced-trade-ws.coinbase.com"}
    if exchange_id == "okx":
        return {"rest": f"{http}/www.okx.com", "ws": f"{ws}/ws.okx.com/ws/v5"}
    raise AssertionError(exchange_id)


@pytest.mark.parametrize(
    ("exchange_id", "symbol"),
    [("binance", "BTC/USDT"), ("kraken", "BTC/USD"), ("coinbase", "BTC/USD"), ("okx", "BTC/USDT")],
)
def test_default_ccxt_pro_client_gets_tickers_with_only_the_url_override(
    exchange_id: str, symbol: str, sandbox_url: str
) -> None:
    ws_url = sandbox_url.replace("http://", "ws://")

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        exchange = getattr(ccxt.pro, exchange_id)()
        for key, value in api_overrides(exchange_id, sandbox_url, ws_url).items():
            if isinstance(value, dict):
                exchange.urls["api"][key].update(value)
            else:
                exchange.urls["api"][key] = value
        try:
            rest = await asyncio.wait_for(exchange.fetch_ticker(symbol), TIMEOUT_S)
            streamed = await asyncio.wait_for(exchange.watch_ticker(symbol), TIMEOUT_S)
            return rest, streamed
        finally:
            await exchange.close()

    rest, streamed = asyncio.run(main())
    for ticker in (rest, streamed):
        assert ticker["symbol"] == symbol
        assert ticker["last"] > 0
    assert 0 < rest["bid"] < rest["ask"]
