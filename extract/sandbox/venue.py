"""What every fake exchange declares: its hosts, listings, timing, REST routes and ws protocol.

An exchange's specifics live in one module under ``extract/sandbox/venues/``; the server and the
feed only talk to this interface.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from extract.sandbox.market import Candle, MarketModel, Quote, VenueStyle
from extract.timeutil import epoch_us_now


def dumps(payload: object) -> str:
    """Compact JSON, as exchanges send it."""
    return json.dumps(payload, separators=(",", ":"))


def now_ms() -> int:
    return epoch_us_now() // 1000


def iso_z(epoch_ms: int, digits: int = 6) -> str:
    """RFC 3339 UTC with ``digits`` fractional digits (0, 3, 6 or 9) and ``Z``."""
    seconds = datetime.fromtimestamp(epoch_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if digits == 0:
        return f"{seconds}Z"
    fraction = f"{epoch_ms % 1000:03d}".ljust(digits, "0")[:digits]
    return f"{seconds}.{fraction}Z"


@dataclass(frozen=True)
class Listing:
    """One spot market on one exchange."""

    exchange: str
    coin: str
    quote: str
    symbol: str  # ccxt unified symbol, e.g. BTC/USDT
    native_id: str  # the REST id, e.g. BTCUSDT, XXBTZUSD, BTC-USD
    stream_id: str  # the id in websocket messages, e.g. btcusdt, BTC/USD, BTC-USD
    price_decimals: int
    amount_decimals: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.exchange, self.symbol)

    @property
    def tick(self) -> float:
        return float(10.0**-self.price_decimals)


@dataclass(frozen=True)
class Stream:
    """A listing on one of the exchange's ticker channels (binance: ticker, bookTicker, ...)."""

    listing: Listing
    channel: str


@dataclass(frozen=True)
class VenueTiming:
    """Mean ticker updates per second per listing, and exchange-to-sandbox-client latency."""

    update_hz: float
    latency_ms: float
    latency_jitter_ms: float


@dataclass(frozen=True)
class RestReply:
    status: int
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class RestContext:
    """What a REST handler may read: the model, this exchange's listings, the time, and each
    listing's current ticker (the state as of its latest update, as the feed sends it)."""

    model: MarketModel
    listings: list[Listing]
    now_ms: int
    current_quote: Callable[[Listing], Quote]

    def by_native_id(self, native_id: str) -> Listing | None:
        return next((item for item in self.listings if item.native_id == native_id), None)

    def quote(self, listing: Listing) -> Quote:
        return self.current_quote(listing)

    def candles(self, listing: Listing, start_ms: int, end_ms: int) -> list[Candle]:
        return self.model.candles(listing.exchange, listing.coin, start_ms, end_ms, self.now_ms)


RestHandler = Callable[[RestContext, Mapping[str, str]], RestReply]


@dataclass
class WsSessionState:
    """Per-connection protocol state a venue may keep (sequence numbers, ids)."""

    connection_id: str
    next_sequence: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def take_sequence(self) -> int:
        sequence = self.next_sequence
        self.next_sequence += 1
        return sequence


@dataclass(frozen=True)
class WsReply:
    """The venue's answer to one client frame.

    ``frames`` go back on the socket in order; ``subscribe`` streams start after them (with a
    snapshot first when the venue's ``snapshot_on_subscribe`` says so); ``unsubscribe`` stop.
    """

    frames: tuple[str, ...] = ()
    subscribe: tuple[Stream, ...] = ()
    unsubscribe: tuple[Stream, ...] = ()
    # the frame was a subscription request (so the rejected-subscription fault applies to it)
    is_subscription: bool = False
    # frames rendered after the subscription snapshots went out (coinbase confirms then)
    after_snapshots: Callable[[], tuple[str, ...]] | None = None


class Venue(ABC):
    """One fake exchange."""

    id: str
    ws_hosts: tuple[str, ...]
    timing: VenueTiming
    style: VenueStyle
    # seconds between server-initiated websocket protocol pings (0: the exchange sends none)
    protocol_ping_s: float = 0.0
    # seconds between application heartbeat frames (0: none)
    heartbeat_s: float = 0.0
    # whether a new subscription first gets the current ticker as a snapshot
    snapshot_on_subscribe: bool = False

    @abstractmethod
    def listings(self, coins: tuple[str, ...]) -> list[Listing]:
        """The spot markets this exchange lists for the given coins."""

    @abstractmethod
    def rest_routes(self) -> dict[str, RestHandler]:
        """GET handlers by ``host/path``; a ``{name}`` path segment is passed in the query."""

    def rate_limited(self) -> RestReply:
        """The exchange's HTTP 429 answer."""
        return RestReply(429, dumps({"error": "rate limit exceeded"}), {"Retry-After": "1"})

    def ws_path_ok(self, host: str, path: str) -> bool:
        """Whether ``path`` on ``host`` is one of this exchange's public websocket endpoints."""
        return host in self.ws_hosts

    def on_open(self, state: WsSessionState) -> list[str]:
        """Frames sent as soon as a websocket opens."""
        return []

    @abstractmethod
    def on_client_frame(
        self, state: WsSessionState, text: str, listings: Mapping[str, Listing]
    ) -> WsReply:
        """Answer one text frame; ``listings`` maps this exchange's stream ids to listings."""

    @abstractmethod
    def reject_subscription(self, state: WsSessionState, text: str) -> WsReply:
        """The exchange's answer when it refuses a subscription (rejected-subscription fault)."""

    @abstractmethod
    def ticker_frame(
        self, state: WsSessionState, stream: Stream, quote: Quote, *, snapshot: bool
    ) -> str:
        """One ticker message on ``stream`` as this exchange sends it."""

    def heartbeat_frame(self, state: WsSessionState, stamp_ms: int) -> str | None:
        """An application heartbeat frame, if the exchange sends them."""
        return None

    # whether ticker frames differ per connection (a per-connection sequence number); if not,
    # one rendered frame is shared by every subscriber
    per_session_frames: bool = False


def fmt(value: float, decimals: int) -> str:
    """A price or size as the decimal string exchanges send."""
    return f"{value:.{decimals}f}"
