"""The ticker schedule: when each listing updates, and when each update reaches the clients.

Every listing updates at its exchange's rate with jitter; an update's exchange time is its event
time and it is sent ``latency`` later (never before the listing's previous update, so nothing is
reordered unless the out-of-order fault asks for it). One task drives all listings from a heap.
Each update is rendered once and shared by every subscriber unless the exchange numbers its
frames per connection.
"""

from __future__ import annotations

import asyncio
import heapq
import random
from collections import defaultdict
from dataclasses import dataclass, replace

from extract.sandbox.faults import FaultBook
from extract.sandbox.market import MarketModel, Quote, stable_seed
from extract.sandbox.session import Outbound, WsSession
from extract.sandbox.venue import Listing, Stream, Venue, now_ms


@dataclass
class LagStats:
    """How late updates left the sandbox compared with their scheduled send time."""

    count: int = 0
    total_ms: float = 0.0
    max_ms: float = 0.0
    late_over_50ms: int = 0

    def add(self, lag_ms: float) -> None:
        self.count += 1
        self.total_ms += lag_ms
        self.max_ms = max(self.max_ms, lag_ms)
        if lag_ms > 50:
            self.late_over_50ms += 1

    def describe(self) -> dict[str, float]:
        return {
            "updates": self.count,
            "mean_ms": round(self.total_ms / self.count, 3) if self.count else 0.0,
            "max_ms": round(self.max_ms, 3),
            "late_over_50ms": self.late_over_50ms,
        }


class Feed:
    def __init__(
        self,
        model: MarketModel,
        venues: dict[str, Venue],
        listings: dict[str, list[Listing]],
        faults: FaultBook,
        *,
        seed: int,
        rate_scale: float,
        latency_scale: float,
    ) -> None:
        self._model = model
        self._venues = venues
        self._listings = listings
        self._faults = faults
        self._rate_scale = rate_scale
        self._latency_scale = latency_scale
        self._rng = random.Random(stable_seed(seed, "schedule"))
        self.subscribers: dict[tuple[str, str], dict[WsSession, set[str]]] = defaultdict(dict)
        self.lag: dict[str, LagStats] = defaultdict(LagStats)
        self.updates: dict[str, int] = defaultdict(int)
        self._heap: list[tuple[int, int, Listing, int]] = []
        self._sequence = 0
        self._last_send: dict[tuple[str, str], int] = {}
        # the event time of each listing's latest update; snapshots and bursts reuse it so the
        # exchange time a client sees never goes backwards (unless a fault says so)
        self._last_event: dict[tuple[str, str], int] = {}
        self._current: dict[tuple[str, str], tuple[int, Quote]] = {}
        self._wake = asyncio.Event()

    def subscribe(self, session: WsSession, stream: Stream) -> None:
        session.streams.add(stream)
        self.subscribers[stream.listing.key].setdefault(session, set()).add(stream.channel)

    def unsubscribe(self, session: WsSession, stream: Stream) -> None:
        session.streams.discard(stream)
        channels = self.subscribers[stream.listing.key].get(session)
        if channels is not None:
            channels.discard(stream.channel)
            if not channels:
                del self.subscribers[stream.listing.key][session]

    def forget(self, session: WsSession) -> None:
        for stream in list(session.streams):
            self.unsubscribe(session, stream)

    def quote(self, listing: Listing, event_ms: int) -> Quote:
        quote = self._model.quote(
            listing.exchange, listing.coin, listing.quote, event_ms, listing.tick
        )
        outlier = self._faults.take("outlier", listing.exchange, listing.symbol)
        if outlier is not None:
            factor = outlier.spec.factor
            quote = replace(
                quote, last=quote.last * factor, bid=quote.bid * factor, ask=quote.ask * factor
            )
        return quote

    def publish(
        self, listing: Listing, quote: Quote, *, snapshot_for: WsSession | None = None
    ) -> None:
        """Render ``quote`` for every subscriber of ``listing`` (or only ``snapshot_for``)."""
        venue = self._venues[listing.exchange]
        rendered: dict[str, str] = {}
        targets = self.subscribers.get(listing.key, {})
        if snapshot_for is not None:
            targets = {snapshot_for: targets.get(snapshot_for, set())}
        for session, channels in list(targets.items()):
            for channel in channels:
                stream = Stream(listing, channel)
                if venue.per_session_frames:
                    frame = venue.ticker_frame(
                        session.state, stream, quote, snapshot=snapshot_for is not None
                    )
                else:
                    frame = rendered.get(channel) or venue.ticker_frame(
                        session.state, stream, quote, snapshot=snapshot_for is not None
                    )
                    rendered[channel] = frame
                session.enqueue(Outbound(frame, listing.symbol))

    def latest_event_ms(self, listing: Listing) -> int:
        """The event time of the listing's latest update (before the first: now - latency)."""
        latest = self._last_event.get(listing.key)
        if latest is None:
            latest = now_ms() - self._latency_ms(self._venues[listing.exchange])
        return latest

    def snapshot(self, session: WsSession, listing: Listing) -> None:
        """The listing's current state for one new subscriber, as of its latest update."""
        self.publish(
            listing, self.quote(listing, self.latest_event_ms(listing)), snapshot_for=session
        )

    def _interval_ms(self, venue: Venue) -> float:
        mean = 1000.0 / (venue.timing.update_hz * self._rate_scale)
        return mean * self._rng.uniform(0.5, 1.5)

    def _latency_ms(self, venue: Venue) -> int:
        timing = venue.timing
        latency = timing.latency_ms + self._rng.uniform(-1, 1) * timing.latency_jitter_ms
        return max(0, round(latency * self._latency_scale))

    def _schedule(self, listing: Listing, event_ms: int) -> None:
        venue = self._venues[listing.exchange]
        send_ms = max(event_ms + self._latency_ms(venue), self._last_send.get(listing.key, 0))
        self._last_send[listing.key] = send_ms
        self._sequence += 1
        heapq.heappush(self._heap, (send_ms, self._sequence, listing, event_ms))

    async def run(self) -> None:
        start = now_ms()
        for exchange, listings in self._listings.items():
            for listing in listings:
                self._last_event.setdefault(listing.key, start)  # the state the feed opens with
                self._schedule(listing, start + round(self._interval_ms(self._venues[exchange])))
        while True:
            send_ms, _, listing, event_ms = self._heap[0]
            delay_ms = send_ms - now_ms()
            if delay_ms > 0:
                await asyncio.sleep(delay_ms / 1000)
                continue
            heapq.heappop(self._heap)
            venue = self._venues[listing.exchange]
            self._schedule(listing, event_ms + round(self._interval_ms(venue)))
            if self._faults.active("stall", listing.exchange, listing.symbol) is not None:
                continue
            self._last_event[listing.key] = event_ms
            if self.subscribers.get(listing.key):
                self.lag[listing.exchange].add(-delay_ms)
                self.updates[listing.exchange] += 1
                self.publish(listing, self.quote(listing, event_ms))

    def current_quote(self, listing: Listing) -> Quote:
        """The listing's state as of its latest update, what a REST ticker shows: the same
        answer until the next update (and frozen while a stall fault holds the listing)."""
        event_ms = self.latest_event_ms(listing)
        cached = self._current.get(listing.key)
        if cached is not None and cached[0] == event_ms:
            return cached[1]
        quote = self.quote(listing, event_ms)
        self._current[listing.key] = (event_ms, quote)
        return quote

    async def burst(self, listing: Listing, count: int) -> None:
        """``count`` updates of one listing, each its own quote (at the latest event time), as
        fast as the loop allows."""
        event_ms = self.latest_event_ms(listing)
        for index in range(count):
            self.publish(listing, self.quote(listing, event_ms))
            if index % 500 == 499:
                await asyncio.sleep(0)
