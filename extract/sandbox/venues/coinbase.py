"""Fake Coinbase Advanced Trade (ccxt id ``coinbase``): public brokerage REST and its websocket.

REST: ``api.coinbase.com/api/v3/brokerage/market/...`` (products, product ticker, candles) and the
``/v2`` currency, exchange-rate and time endpoints ccxt reads while loading markets, all without
keys. Websocket ``advanced-trade-ws.coinbase.com``: ``{"type":"subscribe","product_ids":[...],
"channel":"ticker"}`` gets a ``snapshot`` event then a ``subscriptions`` frame, then ``update``
events; every frame carries the exchange time in its top-level ``timestamp`` (nanoseconds, which
ccxt uses as the ticker timestamp) and a per-connection ``sequence_num``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

from extract.sandbox.market import Quote, VenueStyle
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

CHANNELS = ("ticker", "ticker_batch")
QUOTES = ("USD", "USDT")
CANDLES_MAX_ROWS = 350
COIN_NAMES = {
    "BTC": "Bitcoin",
    "ETH": "Ethereum",
    "SOL": "Solana",
    "XRP": "XRP",
    "DOGE": "Dogecoin",
}


class Coinbase(Venue):
    id = "coinbase"
    ws_hosts = ("advanced-trade-ws.coinbase.com",)
    timing = VenueTiming(update_hz=2.0, latency_ms=55.0, latency_jitter_ms=20.0)
    style = VenueStyle(noise_bps=1.5, half_spread_bps=0.3, bias_bps=-1.0)
    snapshot_on_subscribe = True
    per_session_frames = True
    heartbeat_s = 1.0

    def listings(self, coins: tuple[str, ...]) -> list[Listing]:
        return [
            Listing(
                exchange=self.id,
                coin=coin,
                quote=quote,
                symbol=f"{coin}/{quote}",
                native_id=f"{coin}-{quote}",
                stream_id=f"{coin}-{quote}",
                price_decimals=2 if coin in ("BTC", "ETH", "SOL") else 5,
                amount_decimals=8,
            )
            for coin in coins
            for quote in QUOTES
        ]

    def rest_routes(self) -> dict[str, RestHandler]:
        market = "api.coinbase.com/api/v3/brokerage/market"
        return {
            f"{market}/products": self._products,
            f"{market}/products/{{product_id}}": self._product,
            f"{market}/products/{{product_id}}/ticker": self._ticker,
            f"{market}/products/{{product_id}}/candles": self._candles,
            "api.coinbase.com/api/v3/brokerage/time": self._time_v3,
            "api.coinbase.com/v2/time": self._time_v2,
            "api.coinbase.com/v2/currencies": self._fiat_currencies,
            "api.coinbase.com/v2/currencies/crypto": self._crypto_currencies,
            "api.coinbase.com/v2/exchange-rates": self._exchange_rates,
        }

    def rate_limited(self) -> RestReply:
        body = {
            "error": "rate_limit_exceeded",
            "error_details": "Too many requests",
            "message": "Too many requests",
        }
        return RestReply(429, dumps(body), {"Retry-After": "1"})

    # REST

    @staticmethod
    def _not_found(product_id: str) -> RestReply:
        body = {
            "error": "NOT_FOUND",
            "error_details": f"ProductID {product_id} could not be found",
            "message": "NOT_FOUND",
        }
        return RestReply(404, dumps(body))

    def _time_v2(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        iso = iso_z(ctx.now_ms, 0)
        return RestReply(200, dumps({"data": {"iso": iso, "epoch": ctx.now_ms // 1000}}))

    def _time_v3(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        seconds = ctx.now_ms / 1000
        body = {
            "iso": iso_z(ctx.now_ms),
            "epochSeconds": str(int(seconds)),
            "epochMillis": str(ctx.now_ms),
        }
        return RestReply(200, dumps(body))

    def _fiat_currencies(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        data = [{"id": "USD", "name": "US Dollar", "min_size": "0.01"}]
        return RestReply(200, dumps({"data": data}))

    def _crypto_currencies(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        coins = dict.fromkeys([*(item.coin for item in ctx.listings), "USDT"])
        data = [
            {
                "asset_id": f"sandbox-{code.lower()}",
                "code": code,
                "name": COIN_NAMES.get(code, "Tether" if code == "USDT" else code),
                "color": "#888888",
                "sort_index": index,
                "exponent": 8,
                "type": "crypto",
            }
            for index, code in enumerate(coins)
        ]
        return RestReply(200, dumps({"data": data}))

    def _exchange_rates(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        rates = {"USD": "1"}
        for item in ctx.listings:
            if item.quote == "USD":
                rates[item.coin] = f"{1 / ctx.quote(item).last:.12f}"
        rates["USDT"] = "1"
        return RestReply(200, dumps({"data": {"currency": "USD", "rates": rates}}))

    def _product_payload(self, listing: Listing, quote: Quote) -> dict[str, object]:
        d = listing.price_decimals
        change_pct = (quote.last - quote.open_24h) / quote.open_24h * 100
        return {
            "product_id": listing.native_id,
            "price": fmt(quote.last, d),
            "price_percentage_change_24h": fmt(change_pct, 8),
            "volume_24h": fmt(quote.base_volume_24h, 8),
            "volume_percentage_change_24h": "0",
            "base_increment": fmt(10.0**-listing.amount_decimals, listing.amount_decimals),
            "quote_increment": fmt(10.0**-d, d),
            "quote_min_size": "1",
            "quote_max_size": "50000000",
            "base_min_size": fmt(10.0**-listing.amount_decimals, listing.amount_decimals),
            "base_max_size": "3400",
            "base_name": COIN_NAMES.get(listing.coin, listing.coin),
            "quote_name": "US Dollar" if listing.quote == "USD" else "Tether",
            "watched": False,
            "is_disabled": False,
            "new": False,
            "status": "online",
            "cancel_only": False,
            "limit_only": False,
            "post_only": False,
            "trading_disabled": False,
            "auction_mode": False,
            "product_type": "SPOT",
            "quote_currency_id": listing.quote,
            "base_currency_id": listing.coin,
            "fcm_trading_session_details": None,
            "mid_market_price": "",
            "alias": "",
            "alias_to": [],
            "base_display_symbol": listing.coin,
            "quote_display_symbol": listing.quote,
            "view_only": False,
            "price_increment": fmt(10.0**-d, d),
            "product_venue": "CBE",
        }

    def _products(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        if query.get("product_type", "SPOT") != "SPOT":
            return RestReply(200, dumps({"products": [], "num_products": 0}))
        wanted = query.get("product_ids")
        products = [
            self._product_payload(item, ctx.quote(item))
            for item in ctx.listings
            if wanted is None or item.native_id in wanted.split(",")
        ]
        return RestReply(200, dumps({"products": products, "num_products": len(products)}))

    def _product(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        listing = ctx.by_native_id(query["product_id"])
        if listing is None:
            return self._not_found(query["product_id"])
        return RestReply(200, dumps(self._product_payload(listing, ctx.quote(listing))))

    def _ticker(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        listing = ctx.by_native_id(query["product_id"])
        if listing is None:
            return self._not_found(query["product_id"])
        quote = ctx.quote(listing)
        d = listing.price_decimals
        trade = {
            "trade_id": str(quote.trade_count_24h),
            "product_id": listing.native_id,
            "price": fmt(quote.last, d),
            "size": fmt(quote.last_size, 8),
            "time": iso_z(quote.event_ms),
            "side": "BUY" if quote.last >= quote.ask else "SELL",
            "exchange": "",
        }
        body = {"trades": [trade], "best_bid": fmt(quote.bid, d), "best_ask": fmt(quote.ask, d)}
        return RestReply(200, dumps(body))

    def _candles(self, ctx: RestContext, query: Mapping[str, str]) -> RestReply:
        listing = ctx.by_native_id(query["product_id"])
        if listing is None:
            return self._not_found(query["product_id"])
        if query.get("granularity", "ONE_MINUTE") != "ONE_MINUTE":
            body = {"error": "INVALID_ARGUMENT", "message": "the sandbox serves ONE_MINUTE only"}
            return RestReply(400, dumps(body))
        try:
            end_s = int(query.get("end", ctx.now_ms // 1000))
            start_s = int(query.get("start", end_s - CANDLES_MAX_ROWS * 60))
        except ValueError:
            return RestReply(
                400,
                dumps({"error": "INVALID_ARGUMENT", "message": "start/end must be unix seconds"}),
            )
        if (end_s - start_s) // 60 > CANDLES_MAX_ROWS:
            message = f"number of candles requested should be less than {CANDLES_MAX_ROWS}"
            return RestReply(400, dumps({"error": "INVALID_ARGUMENT", "message": message}))
        end_ms = min(end_s * 1000, ctx.now_ms) + 1
        candles = ctx.candles(listing, start_s * 1000, end_ms)
        d = listing.price_decimals
        rows = [
            {
                "start": str(c.open_ms // 1000),
                "low": fmt(c.low, d),
                "high": fmt(c.high, d),
                "open": fmt(c.open, d),
                "close": fmt(c.close, d),
                "volume": fmt(c.volume, 8),
            }
            for c in reversed(candles)  # newest first, as Coinbase sends them
        ]
        return RestReply(200, dumps({"candles": rows}))

    # websocket

    def on_client_frame(
        self, state: WsSessionState, text: str, listings: Mapping[str, Listing]
    ) -> WsReply:
        try:
            request = json.loads(text)
        except json.JSONDecodeError:
            return WsReply(frames=(self._error("failure to parse request"),))
        if not isinstance(request, dict) or request.get("type") not in ("subscribe", "unsubscribe"):
            return WsReply(frames=(self._error("unknown message type"),))
        channel = request.get("channel")
        product_ids = request.get("product_ids", [])
        if channel == "heartbeats":
            state.extra["heartbeats"] = request["type"] == "subscribe"
            return WsReply(frames=(self._subscriptions(state),), is_subscription=True)
        if channel not in CHANNELS or not isinstance(product_ids, list):
            return WsReply(frames=(self._error("Failure to subscribe"),), is_subscription=True)
        streams = []
        for product_id in product_ids:
            listing = listings.get(str(product_id))
            if listing is None:
                return WsReply(frames=(self._error("Failure to subscribe"),), is_subscription=True)
            streams.append(Stream(listing, str(channel)))
        subscribed: dict[str, set[str]] = state.extra.setdefault("subscriptions", {})
        names = {stream.listing.stream_id for stream in streams}
        if request["type"] == "subscribe":
            subscribed.setdefault(str(channel), set()).update(names)
            # coinbase confirms with a subscriptions frame after the snapshot
            return WsReply(
                subscribe=tuple(streams),
                is_subscription=True,
                after_snapshots=lambda: (self._subscriptions(state),),
            )
        subscribed.setdefault(str(channel), set()).difference_update(names)
        return WsReply(frames=(self._subscriptions(state),), unsubscribe=tuple(streams))

    @staticmethod
    def _error(message: str) -> str:
        return dumps({"type": "error", "message": message})

    def reject_subscription(self, state: WsSessionState, text: str) -> WsReply:
        return WsReply(frames=(self._error("Failure to subscribe"),), is_subscription=True)

    def _subscriptions(self, state: WsSessionState) -> str:
        subscribed = {
            channel: sorted(ids) for channel, ids in state.extra.get("subscriptions", {}).items()
        }
        if state.extra.get("heartbeats"):
            subscribed["heartbeats"] = ["heartbeats"]
        return self._frame(state, "subscriptions", now_ms(), [{"subscriptions": subscribed}])

    @staticmethod
    def _frame(state: WsSessionState, channel: str, stamp_ms: int, events: object) -> str:
        return (
            f'{{"channel":"{channel}","client_id":"","timestamp":"{iso_z(stamp_ms, 9)}",'
            f'"sequence_num":{state.take_sequence()},"events":{dumps(events)}}}'
        )

    def ticker_frame(
        self, state: WsSessionState, stream: Stream, quote: Quote, *, snapshot: bool
    ) -> str:
        listing = stream.listing
        d = listing.price_decimals
        change_pct = (quote.last - quote.open_24h) / quote.open_24h * 100
        ticker = {
            "type": "ticker",
            "product_id": listing.stream_id,
            "price": fmt(quote.last, d),
            "volume_24_h": fmt(quote.base_volume_24h, 8),
            "low_24_h": fmt(quote.low_24h, d),
            "high_24_h": fmt(quote.high_24h, d),
            "low_52_w": fmt(quote.low_24h * 0.6, d),
            "high_52_w": fmt(quote.high_24h * 1.4, d),
            "price_percent_chg_24_h": fmt(change_pct, 14),
            "best_bid": fmt(quote.bid, d),
            "best_ask": fmt(quote.ask, d),
            "best_bid_quantity": fmt(quote.bid_size, 8),
            "best_ask_quantity": fmt(quote.ask_size, 8),
        }
        events = [{"type": "snapshot" if snapshot else "update", "tickers": [ticker]}]
        return self._frame(state, stream.channel, quote.event_ms, events)

    def heartbeat_frame(self, state: WsSessionState, stamp_ms: int) -> str | None:
        if not state.extra.get("heartbeats"):
            return None
        counter = state.extra.get("heartbeat_counter", 0) + 1
        state.extra["heartbeat_counter"] = counter
        current = datetime.fromtimestamp(stamp_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        events = [{"current_time": f"{current} +0000 UTC", "heartbeat_counter": str(counter)}]
        return self._frame(state, "heartbeats", stamp_ms, events)
