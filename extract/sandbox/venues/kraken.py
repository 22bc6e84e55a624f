"""Fake kraken spot: ``api.kraken.com/0/public`` REST and the ``ws.kraken.com/v2`` websocket.

REST uses kraken's legacy names (``XXBTZUSD``, assets ``XXBT``/``ZUSD``, ``XDG`` for DOGE) that
ccxt maps back to unified codes. Websocket v2 (what ccxt.pro uses) speaks unified names
(``BTC/USD``): a ``status`` frame on open, one subscribe ack per symbol, a ``snapshot`` then
``update`` ticker frames whose ``data[0].timestamp`` is the exchange time (ccxt leaves the ticker
timestamp empty), ``{"channel":"heartbeat"}`` every second, and ``ping``/``pong`` methods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime

from extract.sandbox.market import MINUTE_MS, Quote, VenueStyle
from extract.sandbox.venue import (
    Listing,
    RestContext,
    RestHandler,
    RestReply,
    Stream,
    Venue,
    VenueTiming,
    WsReply,
    WsSessionState,
    dumps,
    fmt,
    iso_z,
    now_ms,
)

# kraken's asset ids for the coins whose legacy id differs from the code
ASSET_IDS = {
    "BTC": "XXBT",
    "ETH": "XETH",
    "XRP": "XXRP",
    "DOGE": "XXDG",
    "LTC": "XLTC",
    "USD": "ZUSD",
}
ALTNAMES = {"BTC": "XBT", "DOGE": "XDG"}
OHLC_MAX_ROWS = 720
QUOTES = ("USD", "USDT")


# the oldest USD pairs keep both legacy asset ids in their pair id
LEGACY_USD_PAIRS = ("BTC", "ETH", "XRP", "LTC")


def pair_id(coin: str, quote: str) -> str:
    if quote == "USD" and coin in LEGACY_USD_PAIRS:
        return f"{ASSET_IDS[coin]}{ASSET_IDS[quote]}"  # XXBTZUSD, XETHZUSD, XXRPZUSD
    return f"{ALTNAMES.get(coin, coin)}{quote}"  # XDGUSD, SOLUSD, XBTUSDT


class Kraken(Venue):
    id = "kraken"
    ws_hosts = ("ws.kraken.com",)
    timing = VenueTiming(update_hz=1.0, latency_ms=70.0, latency_jitter_ms=25.0)
    style = VenueStyle(noise_bps=2.0, half_spread_bps=0.8, bias_bps=1.5)
    heartbeat_s = 1.0
    snapshot_on_subscribe = True

    def listings(self, coins: tuple[str, ...]) -> list[Listing]:
        return [
            Listing(
                exchange=self.id,
                coin=coin,
                quote=quote,
                symbol=f"{coin}/{quote}",
                native_id=pair_id(coin, quote),
                stream_id=f"{coin}/{quote}",
                price_decimals=1 if coin == "BTC" else 2 if coin in ("ETH", "SOL") else 5,
                amount_decimals=8,
            )
            for coin in coins
            for quote in QUOTES
        ]

    def rest_routes(self) -> dict[str, RestHandler]:
        base = "api.kraken.com/0/public"
        return {
            f"{base}/AssetPairs": self._asset_pairs,
            f"{base}/Assets": self._assets,
            f"{base}/Ticker": self._ticker,
            f"{base}/OHLC": self._ohlc,
            f"{base}/Time": self._time,
            f"{base}/SystemStatus": self._status,
        }

    def rate_limited(self) -> RestReply:
        return RestReply(
            429, dumps({"error": ["EGeneral:Too many requests"]}), {"Retry-After": "1"}
        )

    # REST

    @staticmethod
    def _ok(result: object) -> RestReply:
        return RestReply(200, dumps({"error": [], "result": result}))

    @staticmethod
    def _fail(message: str) -> RestReply:
        return RestReply(200, dumps({"error": [message]}))

    def _time(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        now = datetime.fromtimestamp(ctx.now_ms / 1000, tz=UTC)
        return self._ok({"unixtime": ctx.now_ms // 1000, "rfc1123": format_datetime(now)})

    def _status(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        stamp = iso_z(ctx.now_ms, 0)
        return self._ok({"status": "online", "timestamp": stamp})

    def _assets(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        codes = dict.fromkeys([*(item.coin for item in ctx.listings), *QUOTES])
        result = {}
        for code in codes:
            result[ASSET_IDS.get(code, code)] = {
                "aclass": "currency",
                "altname": ALTNAMES.get(code, code),
                "decimals": 10 if code not in QUOTES else 4 if code == "USD" else 8,
                "display_decimals": 5 if code not in QUOTES else 2,
                "status": "enabled",
            }
        return self._ok(result)

    def _asset_pairs(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        result = {}
        for item in ctx.listings:
            base_alt = ALTNAMES.get(item.coin, item.coin)
            result[item.native_id] = {
                "altname": f"{base_alt}{item.quote}",
                "wsname": f"{base_alt}/{item.quote}",
                "aclass_base": "currency",
                "base": ASSET_IDS.get(item.coin, item.coin),
                "aclass_quote": "currency",
                "quote": ASSET_IDS.get(item.quote, item.quote),
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": item.price_decimals,
                "lot_decimals": item.amount_decimals,
                "lot_multiplier": 1,
                "leverage_buy": [],
                "leverage_sell": [],
                "fees": [[0, 0.4], [10000, 0.35], [50000, 0.24]],
                "fees_maker": [[0, 0.25], [10000, 0.2], [50000, 0.14]],
                "fee_volume_currency": "ZUSD",
                "margin_call": 80,
                "margin_stop": 40,
                "ordermin": "0.0001",
                "costmin": "0.5",
                "tick_size": fmt(10.0**-item.price_decimals, item.price_decimals),
                "status": "online",
            }
        return self._ok(result)

    def _ticker_payload(self, listing: Listing, quote: Quote) -> dict[str, object]:
        d = listing.price_decimals
        vwap = quote.quote_volume_24h / quote.base_volume_24h
        return {
            "a": [fmt(quote.ask, d), "1", fmt(quote.ask_size, 3)],
            "b": [fmt(quote.bid, d), "1", fmt(quote.bid_size, 3)],
            "c": [fmt(quote.last, d), fmt(quote.last_size, 8)],
            "v": [fmt(quote.base_volume_24h / 2, 8), fmt(quote.base_volume_24h, 8)],
            "p": [fmt(vwap, d), fmt(vwap, d)],
            "t": [quote.trade_count_24h // 2, quote.trade_count_24h],
            "l": [fmt(quote.low_24h, d), fmt(quote.low_24h, d)],
            "h": [fmt(quote.high_24h, d), fmt(quote.high_24h, d)],
            "o": fmt(quote.open_24h, d),
        }

    def _select(self, ctx: RestContext, query: Mapping[str, str]) -> list[Listing] | None:
        if "pair" not in query:
            return list(ctx.listings)
        selected = []
        for name in query["pair"].split(","):
            listing = next(
                (item for item in ctx.listings if name in (item.native_id, self._altname(item))),
                None,
            )
            if listing is None:
                return None
            selected.append(listing)
        return selected

    @staticmethod
    def _altname(listing: Listing) -> str:
        return f"{ALTNAMES.get(listing.coin, listing.coin)}{listing.quote}"

    def _ticker(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        selected = self._select(ctx, query)
        if selected is None:
            return self._fail("EQuery:Unknown asset pair")
        return self._ok(
            {item.native_id: self._ticker_payload(item, ctx.quote(item)) for item in selected}
        )

    def _ohlc(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        selected = self._select(ctx, query)
        if selected is None or len(selected) != 1 or "pair" not in query:
            return self._fail("EQuery:Unknown asset pair")
        if query.get("interval", "1") != "1":
            return self._fail("EGeneral:Invalid arguments:interval (the sandbox serves 1 only)")
        listing = selected[0]
        try:
            since_s = int(query["since"]) if "since" in query else None
        except ValueError:
            return self._fail("EGeneral:Invalid arguments:since")
        end_ms = ctx.now_ms + 1
        if since_s is None:
            candles = ctx.candles(listing, end_ms - (OHLC_MAX_ROWS + 1) * MINUTE_MS, end_ms)
            candles = candles[-OHLC_MAX_ROWS:]
        else:
            candles = ctx.candles(listing, since_s * 1000, end_ms)[:OHLC_MAX_ROWS]
        d = listing.price_decimals
        rows = [
            [
                c.open_ms // 1000,
                fmt(c.open, d),
                fmt(c.high, d),
                fmt(c.low, d),
                fmt(c.close, d),
                fmt((c.open + c.close) / 2, d),
                fmt(c.volume, 8),
                c.trades,
            ]
            for c in candles
        ]
        last = candles[-1].open_ms // 1000 if candles else ctx.now_ms // 1000
        return self._ok({listing.native_id: rows, "last": last})

    # websocket

    def ws_path_ok(self, host: str, path: str) -> bool:
        return host in self.ws_hosts and path.rstrip("/") == "/v2"

    def on_open(self, state: WsSessionState) -> list[str]:
        status = {
            "channel": "status",
            "type": "update",
            "data": [
                {
                    "version": "2.0.10",
                    "system": "online",
                    "api_version": "v2",
                    "connection_id": int(state.connection_id, 16),
                }
            ],
        }
        return [dumps(status)]

    @staticmethod
    def _answer(
        method: str, request_id: object, stamp_ms: int, **fields: object
    ) -> dict[str, object]:
        stamp = iso_z(stamp_ms)
        return {
            "method": method,
            "req_id": request_id,
            **fields,
            "time_in": stamp,
            "time_out": stamp,
        }

    def on_client_frame(
        self, state: WsSessionState, text: str, listings: Mapping[str, Listing]
    ) -> WsReply:
        now = now_ms()
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            return WsReply(frames=(dumps({"error": "Malformed request", "success": False}),))
        if not isinstance(request, dict):
            return WsReply(frames=(dumps({"error": "Malformed request", "success": False}),))
        method = request.get("method")
        request_id = request.get("req_id")
        if method == "ping":
            return WsReply(frames=(dumps(self._answer("pong", request_id, now)),))
        if method not in ("subscribe", "unsubscribe"):
            error = self._answer(
                str(method), request_id, now, error="Method not found", success=False
            )
            return WsReply(frames=(dumps(error),))
        params = request.get("params")
        if not isinstance(params, dict) or params.get("channel") != "ticker":
            error = self._answer(method, request_id, now, error="Channel not found", success=False)
            return WsReply(frames=(dumps(error),), is_subscription=True)
        symbols = params.get("symbol")
        if not isinstance(symbols, list) or not symbols:
            error = self._answer(
                method, request_id, now, error="Field symbol must be an array", success=False
            )
            return WsReply(frames=(dumps(error),), is_subscription=True)
        frames, streams = [], []
        for symbol in symbols:
            listing = listings.get(str(symbol))
            if listing is None:
                reason = f"Currency pair not supported {symbol}"
                frames.append(
                    dumps(
                        self._answer(
                            method, request_id, now, error=reason, success=False, symbol=symbol
                        )
                    )
                )
                continue
            result = {
                "channel": "ticker",
                "event_trigger": "trades",
                "snapshot": True,
                "symbol": symbol,
            }
            frames.append(dumps(self._answer(method, request_id, now, result=result, success=True)))
            streams.append(Stream(listing, "ticker"))
        if method == "subscribe":
            state.extra["subscribed"] = True
            return WsReply(frames=tuple(frames), subscribe=tuple(streams), is_subscription=True)
        return WsReply(frames=tuple(frames), unsubscribe=tuple(streams))

    def reject_subscription(self, state: WsSessionState, text: str) -> WsReply:
        try:
            request = json.loads(text)
            request_id = request.get("req_id")
            symbols = request.get("params", {}).get("symbol", [])
        except (json.JSONDecodeError, AttributeError):
            request_id, symbols = None, []
        symbol = symbols[0] if isinstance(symbols, list) and symbols else ""
        error = self._answer(
            "subscribe",
            request_id,
            now_ms(),
            error=f"Currency pair not supported {symbol}",
            success=False,
            symbol=symbol,
        )
        return WsReply(frames=(dumps(error),), is_subscription=True)

    def ticker_frame(
        self, state: WsSessionState, stream: Stream, quote: Quote, *, snapshot: bool
    ) -> str:
        listing = stream.listing
        d = listing.price_decimals
        change = quote.last - quote.open_24h
        data = {
            "symbol": listing.stream_id,
            "bid": round(quote.bid, d),
            "bid_qty": round(quote.bid_size, 8),
            "ask": round(quote.ask, d),
            "ask_qty": round(quote.ask_size, 8),
            "last": round(quote.last, d),
            "volume": round(quote.base_volume_24h, 8),
            "vwap": round(quote.quote_volume_24h / quote.base_volume_24h, d),
            "low": round(quote.low_24h, d),
            "high": round(quote.high_24h, d),
            "change": round(change, d),
            "change_pct": round(change / quote.open_24h * 100, 2),
            "trades": quote.trade_count_24h,
            "timestamp": iso_z(quote.event_ms),
        }
        kind = "snapshot" if snapshot else "update"
        return dumps({"channel": "ticker", "type": kind, "data": [data]})

    def heartbeat_frame(self, state: WsSessionState, stamp_ms: int) -> str | None:
        # kraken sends heartbeats once a connection has subscribed to something
        return '{"channel":"heartbeat"}' if state.extra.get("subscribed") else None
