"""The sandbox server: every fake exchange, its websockets and the control API on one port.

Routing is generic: the first path segment is the real API host (``/api.binance.com/api/v3/...``,
``/stream.binance.com/ws``), the rest is the real path. ``/_control/...`` drives faults and
reports counters for tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable
from typing import Any

from aiohttp import WSMsgType, web

from extract.sandbox.config import SandboxConfig
from extract.sandbox.faults import (
    ALL_EXCHANGES,
    FaultBook,
    FaultError,
    FaultSpec,
    from_mapping,
    validate,
)
from extract.sandbox.feed import Feed
from extract.sandbox.market import MarketModel
from extract.sandbox.session import Outbound, WsSession
from extract.sandbox.venue import (
    Listing,
    RestContext,
    RestHandler,
    RestReply,
    Venue,
    WsSessionState,
    now_ms,
)
from extract.sandbox.venues import VENUES

log = logging.getLogger("extract.sandbox")

CONTROL_PREFIX = "/_control"
# the longest a client frame may be; anything larger is answered with a close (1009)
MAX_CLIENT_FRAME_BYTES = 64 * 1024


class Listener:
    """The listening socket; the whole-server ``down`` fault closes it and opens it again."""

    def __init__(self, runner: web.AppRunner, host: str, port: int) -> None:
        self._runner = runner
        self.host = host
        self.port = port
        self._site: web.TCPSite | None = None

    async def start(self) -> None:
        """Listen (raises OSError if the port is taken); port 0 becomes the port chosen."""
        self._site = web.TCPSite(self._runner, self.host, self.port)
        await self._site.start()
        self.port = self._runner.addresses[-1][1]

    async def stop(self) -> None:
        """Stop accepting connections; open ones are left to the caller."""
        if self._site is not None:
            await self._site.stop()
            self._site = None


class Sandbox:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.started_monotonic = time.monotonic()
        self.model = MarketModel(
            config.coins, config.seed, now_ms(), round(config.history_hours * 3_600_000)
        )
        self.venues: dict[str, Venue] = {}
        self.listings: dict[str, list[Listing]] = {}
        for exchange in config.exchanges:
            venue = VENUES[exchange]()
            self.venues[exchange] = venue
            self.model.add_venue(exchange, venue.style)
            self.listings[exchange] = venue.listings(config.coins)
        self._routes = {
            venue.id: compile_routes(venue.rest_routes()) for venue in self.venues.values()
        }
        self._rest_hosts = {
            route.split("/", 1)[0]: venue
            for venue in self.venues.values()
            for route in venue.rest_routes()
        }
        self._ws_hosts = {host: v for v in self.venues.values() for host in v.ws_hosts}
        self._stream_ids = {
            exchange: {item.stream_id: item for item in items}
            for exchange, items in self.listings.items()
        }
        self.faults = FaultBook()
        self.sent: Counter[tuple[str, str]] = Counter()
        self.counters: dict[str, Counter[str]] = defaultdict(Counter)
        self.sessions: set[WsSession] = set()
        self.feed = Feed(
            self.model,
            self.venues,
            self.listings,
            self.faults,
            seed=config.seed,
            rate_scale=config.rate_scale,
            latency_scale=config.latency_scale,
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        # set by whoever serves the app, so the whole-server down fault can stop listening
        self.listener: Listener | None = None
        for spec in config.faults:
            self.add_fault(spec)

    # faults

    def symbols(self) -> dict[str, set[str]]:
        return {
            exchange: {item.symbol for item in items} for exchange, items in self.listings.items()
        }

    def add_fault(self, spec: FaultSpec) -> dict[str, Any]:
        spec = validate(spec, tuple(self.venues), self.symbols())
        fault = self.faults.add(spec)
        if spec.kind in ("drop", "half_open", "down"):
            self._spawn(self._connection_fault(fault.id, spec))
        log.info("event=fault_added %s", json.dumps(spec.describe()))
        return fault.describe(time.monotonic())

    async def _connection_fault(self, fault_id: int, spec: FaultSpec) -> None:
        """Apply a connection-level fault to the sockets open when it starts."""
        await asyncio.sleep(spec.after_s)
        fault = next((item for item in self.faults.faults if item.id == fault_id), None)
        if fault is None:  # reset before it started
            return
        targets = [s for s in self.sessions if s.exchange == spec.exchange and not s.silenced]
        if spec.symbol is not None:
            targets = [
                s for s in targets if any(st.listing.symbol == spec.symbol for st in s.streams)
            ]
        if spec.kind == "down":
            targets = [s for s in self.sessions if spec.exchange in (s.exchange, ALL_EXCHANGES)]
        elif spec.count is not None:
            targets = targets[: spec.count]
        closing = []
        for session in targets:
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
            self.counters[session.exchange][f"fault_{spec.kind}"] += 1
            if spec.kind == "half_open":
                session.go_half_open()
            elif spec.kind == "drop" and spec.mode == "close":
                closing.append(session.close_or_abort(spec.code, b"sandbox fault: drop"))
            else:
                session.abort()
        await asyncio.gather(*closing)
        if spec.kind == "down" and spec.exchange == ALL_EXCHANGES and self.listener is not None:
            await self.listener.stop()
            await asyncio.sleep(spec.duration_s or 0.0)
            await self.listener.start()
            log.info("event=server_up port=%s", self.listener.port)
        if spec.kind == "half_open" and spec.duration_s is not None:
            # a half-open socket is eventually reaped, as a NAT or load balancer would
            await asyncio.sleep(spec.duration_s)
            for session in targets:
                session.abort()

    def _spawn(self, coroutine: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # HTTP

    def build_app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_CLIENT_FRAME_BYTES)
        app.router.add_get(f"{CONTROL_PREFIX}/state", self._control_state)
        app.router.add_post(f"{CONTROL_PREFIX}/faults", self._control_faults)
        app.router.add_post(f"{CONTROL_PREFIX}/reset", self._control_reset)
        app.router.add_post(f"{CONTROL_PREFIX}/burst", self._control_burst)
        app.router.add_route("*", "/{host}{path:.*}", self._dispatch)
        app.on_startup.append(self._on_startup)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._spawn(self.feed.run())
        for venue in self.venues.values():
            if venue.heartbeat_s > 0:
                self._spawn(self._heartbeats(venue))

    async def _on_shutdown(self, app: web.Application) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(
            *(s.close_or_abort(1001, b"sandbox shutting down") for s in list(self.sessions))
        )

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        host = request.match_info["host"]
        path = request.match_info["path"] or "/"
        ws_venue = self._ws_hosts.get(host)
        if ws_venue is not None and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request, ws_venue, host, path)
        venue = self._rest_hosts.get(host)
        if venue is None:
            return _json_response(
                404, {"error": f"unknown host {host!r}", "hosts": sorted(self._rest_hosts)}
            )
        counters = self.counters[venue.id]
        counters["http_requests"] += 1
        if self.faults.active("down", venue.id) is not None:
            counters["http_refused"] += 1
            _abort(request)
            return web.Response(status=503)
        if self.faults.take("http_429", venue.id) is not None:
            counters["http_429"] += 1
            return _reply(venue.rate_limited())
        # a repeated parameter (coinbase's product_ids) arrives comma-joined
        query = {key: ",".join(request.query.getall(key)) for key in request.query}
        handler = match_route(self._routes[venue.id], f"{host}{path}", query)
        if handler is None or request.method not in ("GET", "POST"):
            counters["http_404"] += 1
            return _json_response(
                404, {"error": f"{venue.id} sandbox does not serve {request.method} {path}"}
            )
        context = RestContext(
            self.model, self.listings[venue.id], now_ms(), self.feed.current_quote
        )
        return _reply(handler(context, query))

    # websocket

    async def _websocket(
        self, request: web.Request, venue: Venue, host: str, path: str
    ) -> web.StreamResponse:
        counters = self.counters[venue.id]
        if not venue.ws_path_ok(host, path):
            return _json_response(404, {"error": f"{venue.id} sandbox has no websocket at {path}"})
        if self.faults.active("down", venue.id) is not None:
            counters["ws_refused"] += 1
            _abort(request)
            return web.Response(status=503)
        ws = web.WebSocketResponse(
            heartbeat=venue.protocol_ping_s or None,
            compress=False,
            max_msg_size=MAX_CLIENT_FRAME_BYTES,
        )
        await ws.prepare(request)
        state = WsSessionState(connection_id=uuid.uuid4().hex[:12])
        session = WsSession(
            venue,
            ws,
            state,
            self.faults,
            self.sent,
            request.transport,
            self.config.max_queued_frames,
        )
        self.sessions.add(session)
        counters["ws_connections"] += 1
        log.info(
            "event=ws_open exchange=%s connection=%s path=%s",
            venue.id,
            state.connection_id,
            path,
        )
        writer = asyncio.ensure_future(session.run_writer())
        for frame in venue.on_open(state):
            session.enqueue(Outbound(frame))
        session.reader = asyncio.ensure_future(self._read(session))
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await session.reader
            if session.half_open:
                await session.closed.wait()
        finally:
            log.info(
                "event=ws_close exchange=%s connection=%s code=%s",
                venue.id,
                state.connection_id,
                ws.close_code,
            )
            self.sessions.discard(session)
            self.feed.forget(session)
            writer.cancel()
            if not ws.closed:
                with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                    await ws.close()
        return ws

    async def _read(self, session: WsSession) -> None:
        ws, venue = session.ws, session.venue
        counters = self.counters[venue.id]
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                if message.type == WSMsgType.BINARY:
                    counters["client_frames_invalid"] += 1
                continue
            counters["client_frames"] += 1
            try:
                reply = venue.on_client_frame(
                    session.state, message.data, self._stream_ids[venue.id]
                )
            except Exception:  # a venue bug or hostile frame must never kill the sandbox
                log.exception("event=client_frame_error exchange=%s", venue.id)
                counters["client_frames_invalid"] += 1
                continue
            if reply.is_subscription:
                counters["subscriptions"] += 1
                if self.faults.take("reject_subscription", venue.id) is not None:
                    counters["subscriptions_rejected"] += 1
                    reply = venue.reject_subscription(session.state, message.data)
            for frame in reply.frames:
                session.enqueue(Outbound(frame))
            for stream in reply.unsubscribe:
                self.feed.unsubscribe(session, stream)
            for stream in reply.subscribe:
                self.feed.subscribe(session, stream)
                if venue.snapshot_on_subscribe:
                    self.feed.snapshot(session, stream.listing)
            if reply.after_snapshots is not None:
                for frame in reply.after_snapshots():
                    session.enqueue(Outbound(frame))

    async def _heartbeats(self, venue: Venue) -> None:
        while True:
            await asyncio.sleep(venue.heartbeat_s)
            stamp = now_ms()
            for session in list(self.sessions):
                if session.venue is venue:
                    frame = venue.heartbeat_frame(session.state, stamp)
                    if frame is not None:
                        session.enqueue(Outbound(frame))

    # control API

    def state(self) -> dict[str, Any]:
        exchanges: dict[str, Any] = {}
        for exchange, listings in self.listings.items():
            sent = {item.symbol: self.sent[(exchange, item.symbol)] for item in listings}
            exchanges[exchange] = {
                "symbols": [item.symbol for item in listings],
                "connections_open": sum(1 for s in self.sessions if s.exchange == exchange),
                "sent": sent,
                "sent_total": sum(sent.values()),
                "updates_published": self.feed.updates[exchange],
                "schedule_lag": self.feed.lag[exchange].describe(),
                "counters": dict(self.counters[exchange]),
            }
        return {
            "uptime_s": round(time.monotonic() - self.started_monotonic, 3),
            "seed": self.config.seed,
            "coins": list(self.config.coins),
            "exchanges": exchanges,
            "faults": self.faults.describe(),
        }

    async def _control_state(self, request: web.Request) -> web.Response:
        return _json_response(200, self.state())

    async def _control_faults(self, request: web.Request) -> web.Response:
        payload = await _json_body(request)
        if payload is None:
            return _json_response(400, {"error": "body must be a JSON object or a list of them"})
        items = payload if isinstance(payload, list) else [payload]
        added = []
        specs = []
        try:
            for item in items:
                if not isinstance(item, dict):
                    raise FaultError("each fault must be a JSON object")
                specs.append(validate(from_mapping(item), tuple(self.venues), self.symbols()))
        except FaultError as error:
            return _json_response(400, {"error": str(error)})
        for spec in specs:
            added.append(self.add_fault(spec))
        return _json_response(200, {"faults": added})

    async def _control_reset(self, request: web.Request) -> web.Response:
        self.faults.clear()
        self.sent.clear()
        self.counters.clear()
        self.feed.lag.clear()
        self.feed.updates.clear()
        return _json_response(200, {"reset": True})

    async def _control_burst(self, request: web.Request) -> web.Response:
        payload = await _json_body(request)
        if not isinstance(payload, dict):
            return _json_response(
                400, {"error": 'body must be {"exchange":..., "symbol":..., "count": N}'}
            )
        exchange, symbol, count = (
            payload.get("exchange"),
            payload.get("symbol"),
            payload.get("count"),
        )
        listing = next(
            (item for item in self.listings.get(str(exchange), []) if item.symbol == symbol), None
        )
        if listing is None:
            return _json_response(
                400,
                {
                    "error": f"unknown exchange/symbol {exchange}/{symbol}",
                    "choices": {
                        ex: [item.symbol for item in items] for ex, items in self.listings.items()
                    },
                },
            )
        if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= 100_000:
            return _json_response(
                400, {"error": f"count must be an integer in [1, 100000], got {count!r}"}
            )
        subscribers = len(self.feed.subscribers.get(listing.key, {}))
        await self.feed.burst(listing, count)
        return _json_response(200, {"queued": count, "subscribers": subscribers})


def compile_routes(routes: dict[str, RestHandler]) -> list[tuple[re.Pattern[str], RestHandler]]:
    """``host/path/{name}/...`` templates as regular expressions with named groups."""
    compiled = []
    for template, handler in routes.items():
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        compiled.append((re.compile(f"{pattern}/?"), handler))
    return compiled


def match_route(
    routes: list[tuple[re.Pattern[str], RestHandler]], target: str, query: dict[str, str]
) -> RestHandler | None:
    """The handler for ``target``; path parameters are added to ``query``."""
    for pattern, handler in routes:
        matched = pattern.fullmatch(target)
        if matched is not None:
            query.update(matched.groupdict())
            return handler
    return None


async def _json_body(request: web.Request) -> Any:
    try:
        return await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _json_response(status: int, payload: object) -> web.Response:
    return web.json_response(payload, status=status)


def _reply(reply: RestReply) -> web.Response:
    return web.Response(
        status=reply.status, text=reply.body, content_type="application/json", headers=reply.headers
    )


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()
