"""One websocket client connection: its subscriptions, its outbound queue and writer.

Ticker frames are queued by the feed and written by this connection's own writer task, so a slow
client never holds up the schedule of the others. Frame-level faults (malformed, duplicate,
out-of-order) are applied here, just before the bytes go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from extract.sandbox.faults import FaultBook
from extract.sandbox.venue import Stream, Venue, WsSessionState

log = logging.getLogger("extract.sandbox")

SLOW_CONSUMER_CLOSE_CODE = 1008
# how long a close handshake may take before the socket is aborted
CLOSE_TIMEOUT_S = 1.0
# how long an out-of-order frame waits for a successor before it is sent anyway
HOLD_TIMEOUT_S = 1.0


@dataclass(frozen=True)
class Outbound:
    """A frame to send; ``symbol`` is set for ticker frames (they are counted and faultable)."""

    frame: str
    symbol: str | None = None


class WsSession:
    def __init__(
        self,
        venue: Venue,
        ws: web.WebSocketResponse,
        state: WsSessionState,
        faults: FaultBook,
        sent: Counter[tuple[str, str]],
        transport: asyncio.BaseTransport | None,
        max_queued_frames: int,
    ) -> None:
        self.venue = venue
        self.ws = ws
        self._transport = transport
        self._max_queued = max_queued_frames
        self.state = state
        self.streams: set[Stream] = set()
        # the half-open fault: nothing is read or sent until the socket is aborted
        self.half_open = False
        # nothing more is queued or sent (half-open, aborted, or closing as a slow consumer)
        self.silenced = False
        self._closing: asyncio.Task[None] | None = None
        self._faults = faults
        self._sent = sent
        self._queue: asyncio.Queue[Outbound] = asyncio.Queue()
        self._held: Outbound | None = None
        self.reader: asyncio.Task[None] | None = None
        # set when the socket is gone for good (aborted); a half-open session waits for it
        self.closed = asyncio.Event()

    @property
    def exchange(self) -> str:
        return self.venue.id

    def enqueue(self, item: Outbound) -> None:
        if self.silenced or self.ws.closed:
            return
        if self._queue.qsize() >= self._max_queued:
            log.warning(
                "event=slow_consumer exchange=%s connection=%s",
                self.exchange,
                self.state.connection_id,
            )
            self.silenced = True
            self._closing = asyncio.ensure_future(
                self.close_or_abort(SLOW_CONSUMER_CLOSE_CODE, b"slow consumer")
            )
            return
        self._queue.put_nowait(item)

    async def run_writer(self) -> None:
        """Send queued frames until the socket closes."""
        while not self.ws.closed:
            timeout = HOLD_TIMEOUT_S if self._held is not None else None
            try:
                item = await asyncio.wait_for(self._queue.get(), timeout)
            except TimeoutError:
                held, self._held = self._held, None
                if held is not None:
                    await self._send(held)
                continue
            if self.silenced:
                continue
            if item.symbol is None:
                await self._send(item)
                continue
            await self._send_ticker(item)

    async def _send_ticker(self, item: Outbound) -> None:
        exchange, symbol = self.exchange, item.symbol
        if self._faults.take("malformed", exchange, symbol) is not None:
            # cut mid-object: invalid JSON that still looks like the exchange's frames
            item = Outbound(item.frame[: max(1, len(item.frame) // 2)], symbol)
        if self._held is None and self._faults.take("out_of_order", exchange, symbol) is not None:
            self._held = item
            return
        await self._send(item)
        if self._faults.take("duplicate", exchange, symbol) is not None:
            await self._send(item)
        held, self._held = self._held, None
        if held is not None:
            await self._send(held)

    async def _send(self, item: Outbound) -> None:
        if self.ws.closed:
            return
        with contextlib.suppress(ConnectionError):
            await self.ws.send_str(item.frame)
            if item.symbol is not None:
                self._sent[(self.exchange, item.symbol)] += 1

    def go_half_open(self) -> None:
        """Stop reading (so pings go unanswered) and sending, but keep the socket open."""
        self.half_open = self.silenced = True
        if self.reader is not None:
            self.reader.cancel()

    def abort(self) -> None:
        """Drop the TCP connection without a close frame."""
        self.silenced = True
        if isinstance(self._transport, asyncio.Transport):
            self._transport.abort()
        self.closed.set()

    async def close_or_abort(self, code: int, reason: bytes) -> None:
        """A close frame with ``code``; the TCP connection is aborted if the handshake stalls
        (or cannot happen because nobody reads a half-open socket)."""
        if self.half_open:
            self.abort()
            return
        try:
            await asyncio.wait_for(self.ws.close(code=code, message=reason), CLOSE_TIMEOUT_S)
        except TimeoutError:
            self.abort()
