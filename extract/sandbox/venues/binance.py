"""Fake binance spot: ``api.binance.com/api/v3`` REST and ``stream.binance.com:9443/ws`` streams.

Wire formats follow binance's spot API docs and ccxt's parsers: the 24h ticker stream carries the
event time in ``E`` and the statistics close time in ``C`` (ccxt's ticker ``timestamp`` is ``C``);
subscriptions are ``{"method":"SUBSCRIBE","params":["btcusdt@ticker"],"id":1}`` acknowledged with
``{"result":null,"id":1}``; the server sends protocol pings every 20 s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from extract.sandbox.market import DAY_MS, MINUTE_MS, Quote, VenueStyle
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

CHANNELS = ("ticker", "miniTicker", "bookTicker")
KLINE_DEFAULT_LIMIT = 500
KLINE_MAX_LIMIT = 1000


def _error(code: int, msg: str, status: int = 400) -> RestReply:
    return RestReply(status, dumps({"code": code, "msg": msg}))


def _ws_error(code: int, msg: str, request_id: object) -> str:
    return dumps({"error": {"code": code, "msg": msg}, "id": request_id})


class Binance(Venue):
    id = "binance"
    ws_hosts = ("stream.binance.com",)
    timing = VenueTiming(update_hz=1.0, latency_ms=40.0, latency_jitter_ms=15.0)
    style = VenueStyle(noise_bps=1.0, half_spread_bps=0.5, bias_bps=0.0)
    protocol_ping_s = 20.0

    def listings(self, coins: tuple[str, ...]) -> list[Listing]:
        return [
            Listing(
                exchange=self.id,
                coin=coin,
                quote="USDT",
                symbol=f"{coin}/USDT",
                native_id=f"{coin}USDT",
                stream_id=f"{coin}USDT".lower(),
                price_decimals=2 if coin in ("BTC", "ETH", "SOL") else 5,
                amount_decimals=5,
            )
            for coin in coins
        ]

    def rest_routes(self) -> dict[str, RestHandler]:
        return {
            "api.binance.com/api/v3/exchangeInfo": self._exchange_info,
            "api.binance.com/api/v3/ticker/24hr": self._ticker_24hr,
            "api.binance.com/api/v3/klines": self._klines,
            "api.binance.com/api/v3/time": self._time,
            "api.binance.com/api/v3/ping": lambda ctx, query: RestReply(200, "{}"),
            # ccxt's default load_markets also asks for futures; the sandbox lists none
            "fapi.binance.com/fapi/v1/exchangeInfo": self._no_markets,
            "dapi.binance.com/dapi/v1/exchangeInfo": self._no_markets,
        }

    def rate_limited(self) -> RestReply:
        return RestReply(
            429,
            dumps(
                {
                    "code": -1003,
                    "msg": "Too many requests; current limit is 6000 request weight per 1 MINUTE.",
                }
            ),
            {"Retry-After": "1"},
        )

    # REST

    def _time(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        return RestReply(200, dumps({"serverTime": ctx.now_ms}))

    def _no_markets(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        return self._exchange_info(ctx, query, spot=False)

    def _exchange_info(
        self, ctx: RestContext, query: Mapping[str, str], *, spot: bool = True
    ) -> RestReply:
        symbols = [self._symbol_info(listing) for listing in ctx.listings] if spot else []
        return RestReply(
            200,
            dumps(
                {
                    "timezone": "UTC",
                    "serverTime": ctx.now_ms,
                    "rateLimits": [
                        {
                            "rateLimitType": "REQUEST_WEIGHT",
                            "interval": "MINUTE",
                            "intervalNum": 1,
                            "limit": 6000,
                        },
                        {
                            "rateLimitType": "ORDERS",
                            "interval": "SECOND",
                            "intervalNum": 10,
                            "limit": 100,
                        },
                        {
                            "rateLimitType": "RAW_REQUESTS",
                            "interval": "MINUTE",
                            "intervalNum": 5,
                            "limit": 61000,
                        },
                    ],
                    "exchangeFilters": [],
                    "symbols": symbols,
                }
            ),
        )

    @staticmethod
    def _symbol_info(listing: Listing) -> dict[str, object]:
        tick = fmt(10.0**-listing.price_decimals, 8)
        step = fmt(10.0**-listing.amount_decimals, 8)
        return {
            "symbol": listing.native_id,
            "status": "TRADING",
            "baseAsset": listing.coin,
            "baseAssetPrecision": 8,
            "quoteAsset": listing.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": [
                "LIMIT",
                "LIMIT_MAKER",
                "MARKET",
                "STOP_LOSS_LIMIT",
                "TAKE_PROFIT_LIMIT",
            ],
            "icebergAllowed": True,
            "ocoAllowed": True,
            "otoAllowed": True,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": True,
            "cancelReplaceAllowed": True,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": tick,
                    "maxPrice": "1000000.00000000",
                    "tickSize": tick,
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": step,
                    "maxQty": "9000.00000000",
                    "stepSize": step,
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": "5.00000000",
                    "applyMinToMarket": True,
                    "maxNotional": "9000000.00000000",
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
        }

    def _ticker_payload(self, listing: Listing, quote: Quote) -> dict[str, object]:
        d = listing.price_decimals
        change = quote.last - quote.open_24h
        return {
            "symbol": listing.native_id,
            "priceChange": fmt(change, d),
            "priceChangePercent": fmt(change / quote.open_24h * 100, 3),
            "weightedAvgPrice": fmt(quote.quote_volume_24h / quote.base_volume_24h, d),
            "prevClosePrice": fmt(quote.open_24h, d),
            "lastPrice": fmt(quote.last, d),
            "lastQty": fmt(quote.last_size, 8),
            "bidPrice": fmt(quote.bid, d),
            "bidQty": fmt(quote.bid_size, 8),
            "askPrice": fmt(quote.ask, d),
            "askQty": fmt(quote.ask_size, 8),
            "openPrice": fmt(quote.open_24h, d),
            "highPrice": fmt(quote.high_24h, d),
            "lowPrice": fmt(quote.low_24h, d),
            "volume": fmt(quote.base_volume_24h, 8),
            "quoteVolume": fmt(quote.quote_volume_24h, 8),
            "openTime": quote.event_ms - DAY_MS,
            "closeTime": quote.event_ms,
            "firstId": 1,
            "lastId": quote.trade_count_24h,
            "count": quote.trade_count_24h,
        }

    def _ticker_24hr(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        if "symbol" in query:
            listing = ctx.by_native_id(query["symbol"])
            if listing is None:
                return _error(-1121, "Invalid symbol.")
            return RestReply(200, dumps(self._ticker_payload(listing, ctx.quote(listing))))
        selected = ctx.listings
        if "symbols" in query:
            try:
                wanted = json.loads(query["symbols"])
            except json.JSONDecodeError:
                return _error(-1100, "Illegal characters found in parameter 'symbols'.")
            selected = [item for item in ctx.listings if item.native_id in wanted]
            if len(selected) != len(set(wanted)):
                return _error(-1121, "Invalid symbol.")
        return RestReply(
            200, dumps([self._ticker_payload(item, ctx.quote(item)) for item in selected])
        )

    def _klines(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        listing = ctx.by_native_id(query.get("symbol", ""))
        if listing is None:
            return _error(-1121, "Invalid symbol.")
        if query.get("interval") != "1m":
            return _error(-1120, "Invalid interval; the sandbox serves 1m klines only.")
        try:
            limit = min(int(query.get("limit", KLINE_DEFAULT_LIMIT)), KLINE_MAX_LIMIT)
            start = int(query["startTime"]) if "startTime" in query else None
            end = int(query["endTime"]) if "endTime" in query else None
        except ValueError:
            return _error(-1100, "Illegal characters found in a parameter.")
        end_ms = ctx.now_ms + 1 if end is None else min(end + 1, ctx.now_ms + 1)
        if start is None:
            candles = ctx.candles(listing, end_ms - limit * MINUTE_MS - MINUTE_MS, end_ms)[-limit:]
        else:
            candles = ctx.candles(listing, start, end_ms)[:limit]
        d = listing.price_decimals
        rows = [
            [
                c.open_ms,
                fmt(c.open, d),
                fmt(c.high, d),
                fmt(c.low, d),
                fmt(c.close, d),
                fmt(c.volume, 8),
                c.open_ms + MINUTE_MS - 1,
                fmt(c.volume * c.close, 8),
                c.trades,
                fmt(c.volume / 2, 8),
                fmt(c.volume * c.close / 2, 8),
                "0",
            ]
            for c in candles
        ]
        return RestReply(200, dumps(rows))

    # websocket

    def ws_path_ok(self, host: str, path: str) -> bool:
        return host in self.ws_hosts and (path == "/ws" or path.startswith("/ws/"))

    def on_client_frame(
        self, state: WsSessionState, text: str, listings: Mapping[str, Listing]
    ) -> WsReply:
        try:
            request = json.loads(text)
        except json.JSONDecodeError as error:
            return WsReply(frames=(_ws_error(3, f"Invalid JSON: {error}", None),))
        if not isinstance(request, dict):
            return WsReply(frames=(_ws_error(3, "Invalid JSON: expected an object", None),))
        request_id = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS"):
            return WsReply(frames=(_ws_error(2, "Invalid request: unknown method", request_id),))
        if method == "LIST_SUBSCRIPTIONS":
            names = sorted(state.extra.get("streams", set()))
            return WsReply(frames=(dumps({"result": names, "id": request_id}),))
        streams = []
        for name in params if isinstance(params, list) else []:
            stream_id, _, channel = str(name).partition("@")
            listing = listings.get(stream_id)
            if listing is None or channel not in CHANNELS:
                return WsReply(
                    frames=(_ws_error(2, "Invalid request: invalid stream", request_id),),
                    is_subscription=True,
                )
            streams.append(Stream(listing, channel))
        names_now: set[str] = state.extra.setdefault("streams", set())
        ack = dumps({"result": None, "id": request_id})
        if method == "SUBSCRIBE":
            names_now.update(f"{s.listing.stream_id}@{s.channel}" for s in streams)
            return WsReply(frames=(ack,), subscribe=tuple(streams), is_subscription=True)
        names_now.difference_update(f"{s.listing.stream_id}@{s.channel}" for s in streams)
        return WsReply(frames=(ack,), unsubscribe=tuple(streams))

    def reject_subscription(self, state: WsSessionState, text: str) -> WsReply:
        try:
            request_id = json.loads(text).get("id")
        except (json.JSONDecodeError, AttributeError):
            request_id = None
        return WsReply(
            frames=(_ws_error(2, "Invalid request: invalid stream", request_id),),
            is_subscription=True,
        )

    def ticker_frame(
        self, state: WsSessionState, stream: Stream, quote: Quote, *, snapshot: bool
    ) -> str:
        listing, d = stream.listing, stream.listing.price_decimals
        symbol = listing.native_id
        if stream.channel == "bookTicker":
            return dumps(
                {
                    "u": quote.event_ms,
                    "s": symbol,
                    "b": fmt(quote.bid, d),
                    "B": fmt(quote.bid_size, 8),
                    "a": fmt(quote.ask, d),
                    "A": fmt(quote.ask_size, 8),
                }
            )
        if stream.channel == "miniTicker":
            return dumps(
                {
                    "e": "24hrMiniTicker",
                    "E": quote.event_ms,
                    "s": symbol,
                    "c": fmt(quote.last, d),
                    "o": fmt(quote.open_24h, d),
                    "h": fmt(quote.high_24h, d),
                    "l": fmt(quote.low_24h, d),
                    "v": fmt(quote.base_volume_24h, 8),
                    "q": fmt(quote.quote_volume_24h, 8),
                }
            )
        change = quote.last - quote.open_24h
        return dumps(
            {
                "e": "24hrTicker",
                "E": quote.event_ms,
                "s": symbol,
                "p": fmt(change, d),
                "P": fmt(change / quote.open_24h * 100, 3),
                "w": fmt(quote.quote_volume_24h / quote.base_volume_24h, d),
                "x": fmt(quote.open_24h, d),
                "c": fmt(quote.last, d),
                "Q": fmt(quote.last_size, 8),
                "b": fmt(quote.bid, d),
                "B": fmt(quote.bid_size, 8),
                "a": fmt(quote.ask, d),
                "A": fmt(quote.ask_size, 8),
                "o": fmt(quote.open_24h, d),
                "h": fmt(quote.high_24h, d),
                "l": fmt(quote.low_24h, d),
                "v": fmt(quote.base_volume_24h, 8),
                "q": fmt(quote.quote_volume_24h, 8),
                # binance's 24h statistics window closes a moment before the event is emitted
                "O": quote.event_ms - DAY_MS - 1,
                "C": quote.event_ms - 1,
                "F": 1,
                "L": quote.trade_count_24h,
                "n": quote.trade_count_24h,
            }
        )
