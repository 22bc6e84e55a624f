"""Fake OKX spot: ``www.okx.com/api/v5`` REST and the ``ws.okx.com:8443/ws/v5/public`` websocket.

Every REST answer is ``{"code":"0","msg":"","data":[...]}`` with numbers as strings. The
websocket takes ``{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"}]}``,
acknowledges each arg with ``{"event":"subscribe","arg":{...},"connId":...}``, pushes
``{"arg":{...},"data":[{...,"ts":"<ms>"}]}`` (``ts`` is the exchange time ccxt uses) and answers
the text keepalive ``ping`` with ``pong``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

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
)

CANDLES_MAX_LIMIT = 300
HISTORY_CANDLES_MAX_LIMIT = 100
CANDLES_DEFAULT_LIMIT = 100
# /market/candles serves the most recent 1440 bars; older ones come from /market/history-candles
RECENT_CANDLES = 1440
INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")


def _ok(data: list[object]) -> RestReply:
    return RestReply(200, dumps({"code": "0", "msg": "", "data": data}))


def _fail(code: str, msg: str, status: int = 400) -> RestReply:
    return RestReply(status, dumps({"code": code, "msg": msg, "data": []}))


class Okx(Venue):
    id = "okx"
    ws_hosts = ("ws.okx.com", "wsaws.okx.com")
    timing = VenueTiming(update_hz=4.0, latency_ms=35.0, latency_jitter_ms=10.0)
    style = VenueStyle(noise_bps=1.2, half_spread_bps=0.4, bias_bps=0.5)
    snapshot_on_subscribe = True

    def listings(self, coins: tuple[str, ...]) -> list[Listing]:
        return [
            Listing(
                exchange=self.id,
                coin=coin,
                quote="USDT",
                symbol=f"{coin}/USDT",
                native_id=f"{coin}-USDT",
                stream_id=f"{coin}-USDT",
                price_decimals=1 if coin == "BTC" else 2 if coin in ("ETH", "SOL") else 5,
                amount_decimals=8,
            )
            for coin in coins
        ]

    def rest_routes(self) -> dict[str, RestHandler]:
        routes: dict[str, RestHandler] = {}
        for host in ("www.okx.com", "aws.okx.com"):  # ccxt's hostname option picks one
            routes |= {
                f"{host}/api/v5/public/instruments": self._instruments,
                f"{host}/api/v5/public/time": self._time,
                f"{host}/api/v5/market/ticker": self._ticker,
                f"{host}/api/v5/market/tickers": self._tickers,
                f"{host}/api/v5/market/candles": self._candles,
                f"{host}/api/v5/market/history-candles": self._history_candles,
            }
        return routes

    def rate_limited(self) -> RestReply:
        return RestReply(
            429, dumps({"msg": "Too Many Requests", "code": "50011"}), {"Retry-After": "1"}
        )

    # REST

    def _time(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        return _ok([{"ts": str(ctx.now_ms)}])

    def _instruments(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        inst_type = query.get("instType")
        if inst_type not in INST_TYPES:
            return _fail("51000", "Parameter instType error")
        if inst_type != "SPOT":
            return _ok([])
        data: list[object] = []
        for item in ctx.listings:
            if "instId" in query and query["instId"] != item.native_id:
                continue
            data.append(
                {
                    "alias": "",
                    "auctionEndTime": "",
                    "baseCcy": item.coin,
                    "category": "1",
                    "ctMult": "",
                    "ctType": "",
                    "ctVal": "",
                    "ctValCcy": "",
                    "expTime": "",
                    "instFamily": "",
                    "instId": item.native_id,
                    "instType": "SPOT",
                    "lever": "10",
                    "listTime": "1606468572000",
                    "lotSz": fmt(10.0**-item.amount_decimals, item.amount_decimals),
                    "maxIcebergSz": "9999999999.0000000000000000",
                    "maxLmtAmt": "1000000",
                    "maxLmtSz": "9999999999",
                    "maxMktAmt": "1000000",
                    "maxMktSz": "1000000",
                    "maxStopSz": "1000000",
                    "maxTriggerSz": "9999999999.0000000000000000",
                    "maxTwapSz": "9999999999.0000000000000000",
                    "minSz": "0.00001",
                    "optType": "",
                    "quoteCcy": item.quote,
                    "ruleType": "normal",
                    "settleCcy": "",
                    "state": "live",
                    "stk": "",
                    "tickSz": fmt(10.0**-item.price_decimals, item.price_decimals),
                    "uly": "",
                }
            )
        return _ok(data)

    def _ticker_payload(self, listing: Listing, quote: Quote) -> dict[str, str]:
        d = listing.price_decimals
        return {
            "instType": "SPOT",
            "instId": listing.native_id,
            "last": fmt(quote.last, d),
            "lastSz": fmt(quote.last_size, 8),
            "askPx": fmt(quote.ask, d),
            "askSz": fmt(quote.ask_size, 8),
            "bidPx": fmt(quote.bid, d),
            "bidSz": fmt(quote.bid_size, 8),
            "open24h": fmt(quote.open_24h, d),
            "high24h": fmt(quote.high_24h, d),
            "low24h": fmt(quote.low_24h, d),
            "sodUtc0": fmt(quote.open_24h, d),
            "sodUtc8": fmt(quote.open_24h, d),
            "volCcy24h": fmt(quote.quote_volume_24h, 8),
            "vol24h": fmt(quote.base_volume_24h, 8),
            "ts": str(quote.event_ms),
        }

    def _ticker(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        listing = ctx.by_native_id(query.get("instId", ""))
        if listing is None:
            return _fail("51001", "Instrument ID does not exist")
        return _ok([self._ticker_payload(listing, ctx.quote(listing))])

    def _tickers(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        inst_type = query.get("instType")
        if inst_type not in INST_TYPES:
            return _fail("51000", "Parameter instType error")
        if inst_type != "SPOT":
            return _ok([])
        return _ok([self._ticker_payload(item, ctx.quote(item)) for item in ctx.listings])

    def _candles(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        return self._candle_rows(ctx, query, CANDLES_MAX_LIMIT, recent_only=True)

    def _history_candles(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        return self._candle_rows(ctx, query, HISTORY_CANDLES_MAX_LIMIT, recent_only=False)

    def _candle_rows(
        self, ctx: RestContext, query: Mapping[str, str], max_limit: int, *, recent_only: bool
    ) -> RestReply:
        listing = ctx.by_native_id(query.get("instId", ""))
        if listing is None:
            return _fail("51001", "Instrument ID does not exist")
        if query.get("bar", "1m") != "1m":
            return _fail("51000", "Parameter bar error (the sandbox serves 1m only)")
        try:
            limit = min(int(query.get("limit", CANDLES_DEFAULT_LIMIT)), max_limit)
            after = int(query["after"]) if "after" in query else None  # older than, exclusive
            before = int(query["before"]) if "before" in query else None  # newer than, exclusive
        except ValueError:
            return _fail("51000", "Parameter limit/after/before error")
        end_ms = ctx.now_ms + 1 if after is None else min(after, ctx.now_ms + 1)
        start_ms = end_ms - (limit + 1) * MINUTE_MS if before is None else before + 1
        if recent_only:
            start_ms = max(start_ms, ctx.now_ms - RECENT_CANDLES * MINUTE_MS)
        candles = ctx.candles(listing, start_ms, end_ms)
        candles = candles[-limit:] if before is None else candles[:limit]
        d = listing.price_decimals
        current_open = ctx.now_ms // MINUTE_MS * MINUTE_MS
        rows: list[object] = [
            [
                str(c.open_ms),
                fmt(c.open, d),
                fmt(c.high, d),
                fmt(c.low, d),
                fmt(c.close, d),
                fmt(c.volume, 8),
                fmt(c.volume * c.close, 8),
                fmt(c.volume * c.close, 8),
                "0" if c.open_ms >= current_open else "1",
            ]
            for c in reversed(candles)  # newest first, as OKX sends them
        ]
        return _ok(rows)

    # websocket

    def ws_path_ok(self, host: str, path: str) -> bool:
        return host in self.ws_hosts and path.rstrip("/") == "/ws/v5/public"

    def on_client_frame(
        self, state: WsSessionState, text: str, listings: Mapping[str, Listing]
    ) -> WsReply:
        if text == "ping":
            return WsReply(frames=("pong",))
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            return WsReply(frames=(self._error(state, "60012", f"Invalid request: {text[:200]}"),))
        if not isinstance(request, dict) or request.get("op") not in ("subscribe", "unsubscribe"):
            return WsReply(frames=(self._error(state, "60012", f"Invalid request: {text[:200]}"),))
        op = request["op"]
        args = request.get("args")
        if not isinstance(args, list) or not args:
            return WsReply(
                frames=(self._error(state, "60012", f"Invalid request: {text[:200]}"),),
                is_subscription=True,
            )
        frames, streams = [], []
        for arg in args:
            fields = arg if isinstance(arg, dict) else {}
            channel, inst_id = fields.get("channel"), fields.get("instId")
            listing = listings.get(str(inst_id))
            if channel != "tickers" or listing is None:
                message = (
                    f"Wrong URL or channel:{channel},instId:{inst_id} doesn't exist. Please use "
                    "the correct URL, channel and parameters referring to API document."
                )
                frames.append(self._error(state, "60018", message))
                continue
            frames.append(
                dumps(
                    {
                        "event": op,
                        "arg": {"channel": channel, "instId": listing.stream_id},
                        "connId": state.connection_id[:8],
                    }
                )
            )
            streams.append(Stream(listing, "tickers"))
        if op == "subscribe":
            return WsReply(frames=tuple(frames), subscribe=tuple(streams), is_subscription=True)
        return WsReply(frames=tuple(frames), unsubscribe=tuple(streams))

    @staticmethod
    def _error(state: WsSessionState, code: str, message: str) -> str:
        return dumps(
            {"event": "error", "msg": message, "code": code, "connId": state.connection_id[:8]}
        )

    def reject_subscription(self, state: WsSessionState, text: str) -> WsReply:
        message = f"Invalid request: {text[:200]}"
        return WsReply(frames=(self._error(state, "60012", message),), is_subscription=True)

    def ticker_frame(
        self, state: WsSessionState, stream: Stream, quote: Quote, *, snapshot: bool
    ) -> str:
        arg = {"channel": "tickers", "instId": stream.listing.stream_id}
        return dumps({"arg": arg, "data": [self._ticker_payload(stream.listing, quote)]})
