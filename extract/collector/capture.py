"""Capture every ticker update ccxt.pro parses, stamped with its frame's arrival time.

ccxt's ``watch_*`` loop hands back only the latest ticker, so under a burst most updates never
reach the caller. The capture therefore works inside ccxt, on one exchange instance:

- the instance's class is swapped for a subclass whose ``client(url)`` wraps each new websocket
  client's ``handle_message`` (the first Python code a received frame reaches, before JSON
  decoding) to stamp the arrival time, count bytes and contain exceptions from bad frames;
- the exchange spec's ticker handlers are overridden: while one runs, every ticker it stores
  into the exchange's ticker cache is turned into a :class:`Tick`, so each parsed update lands
  once;
- ``on_connected`` / ``on_error`` / ``on_close`` are overridden to record the connection's
  lifecycle, one connection event per connection (ccxt fires two close callbacks for a close
  frame; the second is counted and dropped).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from time import time_ns
from typing import Any, Protocol

import orjson

from extract.collector.clock import IsoMsText
from extract.collector.exchange_time import exchange_time_ms
from extract.collector.logs import describe_error, log_event
from extract.collector.records import ConnectionEvent, Tick
from extract.collector.writer import make_event
from extract.exchanges import ExchangeSpec
from extract.exchanges.spec import TickerValues
from extract.timeutil import epoch_us_now

MALFORMED_EVENT_INTERVAL_US = 10_000_000
# one ticker to land: symbol, raw ticker (ccxt's info; None when read straight from the frame's
# text), its values, the exchange's time in epoch ms (None when it sent none)
LandingRow = tuple[str, Any, TickerValues, int | None]
_SAMPLE_CHARS = 200
# Tick(...) runs the NamedTuple's Python-level __new__; once per tick, the tuple is built directly
_new_tick = tuple.__new__


class TickSink(Protocol):
    def tick(self, tick: Tick) -> None: ...

    def event(self, event: ConnectionEvent) -> None: ...


@dataclass
class Connection:
    """One websocket connection (one ccxt ``Client`` object) and what happened on it."""

    connection_id: str
    url: str
    client: Any
    opened_us: int
    connected_us: int | None = None
    closed: bool = False
    ticks: int = 0
    last_tick_us: int | None = None
    closed_event: asyncio.Event = field(default_factory=asyncio.Event)
    # market id -> symbol, learned from ccxt's parse on this connection (None: ccxt only)
    fast_symbols: dict[str, str | None] = field(default_factory=dict)


@dataclass
class CaptureStats:
    bytes: int = 0
    ticks: int = 0
    malformed: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    connects: int = 0
    disconnects: int = 0
    duplicate_close_callbacks: int = 0
    fast_path_ticks: int = 0


class _RecordingTickers(dict[str, Any]):
    """ccxt's ticker cache; stores made while a hooked ticker handler runs are collected."""

    collected: list[tuple[str, Any]] | None = None

    def __setitem__(self, symbol: str, ticker: Any) -> None:
        dict.__setitem__(self, symbol, ticker)
        if self.collected is not None:
            self.collected.append((symbol, ticker))


class ExchangeCapture:
    """The capture state of one exchange instance: connections, counters, the tick sink."""

    def __init__(
        self,
        exchange_id: str,
        spec: ExchangeSpec,
        sink: TickSink,
        *,
        store_raw_json: bool = True,
        market_types: Mapping[str, str] | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self.spec = spec
        self.sink = sink
        self.store_raw_json = store_raw_json
        self.market_types: Mapping[str, str] = market_types or {}
        self.stats = CaptureStats()
        self.connections: list[Connection] = []
        self.last_disconnect_us: int | None = None
        self.last_tick_us: int | None = None
        self.last_tick_by_symbol: dict[str, int] = {}
        self._arrival_us = 0
        self._frame_connection: Connection | None = None
        self._frame_text: str | None = None
        self._arrival_clock = IsoMsText()
        self._exchange_clock = IsoMsText()
        self._last_raw: dict[str, Any] = {}
        self._last_exchange_ts: dict[str, int] = {}
        self._malformed_since_event = 0
        self._last_malformed_event_us = 0
        self._last_malformed: tuple[Connection | None, str, Any] | None = None

    # -- events ---------------------------------------------------------------------------------

    def emit(
        self,
        event_type: str,
        connection: Connection | None = None,
        *,
        symbol: str | None = None,
        level: int = logging.INFO,
        **details: Any,
    ) -> None:
        connection_id = connection.connection_id if connection is not None else None
        self.sink.event(
            make_event(
                event_type,
                exchange_id=self.exchange_id,
                symbol=symbol,
                connection_id=connection_id,
                **details,
            )
        )
        log_event(
            level,
            event_type,
            exchange=self.exchange_id,
            symbol=symbol,
            connection=connection_id,
            **details,
        )

    # -- connection lifecycle -------------------------------------------------------------------

    def attach(self, client: Any) -> Connection:
        """Wrap a new ccxt websocket client: stamp arrival, count bytes, contain bad frames."""
        connection = Connection(uuid.uuid4().hex, str(client.url), client, epoch_us_now())
        self.connections = [c for c in self.connections if not c.closed] + [connection]
        client.dwh_connection = connection
        original = client.handle_message
        fast_frame = self._fast_frame if self.spec.fast_path is not None else None

        def stamped_handle_message(message: Any) -> None:
            arrival_us = time_ns() // 1000  # timeutil.epoch_us_now, inlined: once per frame
            data = getattr(message, "data", None)
            text = data if type(data) is str else None
            size = len(text) if text is not None else len(data) if isinstance(data, bytes) else 0
            self.stats.bytes += size
            if (
                fast_frame is not None
                and text is not None
                and fast_frame(connection, text, arrival_us)
            ):
                client.last_message_at = arrival_us // 1000  # what ccxt's handler records
                return
            # for the ticker handlers ccxt calls while it handles this frame
            self._arrival_us = arrival_us
            self._frame_connection = connection
            self._frame_text = text
            try:
                original(message)
            except Exception as error:
                self.malformed(connection, error, data)

        client.handle_message = stamped_handle_message
        self.emit("connecting", connection, url=connection.url)
        return connection

    def connected(self, client: Any) -> None:
        connection: Connection | None = getattr(client, "dwh_connection", None)
        if connection is None or connection.connected_us is not None:
            return
        now = epoch_us_now()
        connection.connected_us = now
        self.stats.connects += 1
        self.emit("connected", connection, connect_s=round((now - connection.opened_us) / 1e6, 3))
        if self.last_disconnect_us is not None:
            self.emit(
                "reconnected",
                connection,
                time_to_reconnect_s=round((now - self.last_disconnect_us) / 1e6, 3),
            )
            self.last_disconnect_us = None

    def disconnected(
        self,
        client: Any,
        reason: str,
        *,
        close_code: int | None = None,
        initiated_by: str = "server",
    ) -> None:
        """The connection ended; only the first report per connection counts."""
        connection: Connection | None = getattr(client, "dwh_connection", None)
        if connection is None:
            return
        if connection.closed:
            self.stats.duplicate_close_callbacks += 1
            return
        connection.closed = True
        connection.closed_event.set()
        if connection.connected_us is None:
            return  # a failed dial is not a disconnect; the session records its reason
        now = epoch_us_now()
        self.last_disconnect_us = now
        self.stats.disconnects += 1
        self.emit(
            "disconnect",
            connection,
            level=logging.WARNING,
            reason=reason,
            close_code=close_code,
            initiated_by=initiated_by,
            uptime_s=round((now - connection.connected_us) / 1e6, 3),
            ticks=connection.ticks,
        )

    def poll_closed(self) -> bool:
        """Notice sockets that died without a callback (e.g. a reset read); True if any is down."""
        down = False
        for connection in self.connections:
            if not connection.closed and connection.connected_us is not None:
                if connection.client.closed():
                    self.disconnected(connection.client, "socket closed", close_code=1006)
            down = down or connection.closed
        return down

    def open_connections(self) -> list[Connection]:
        return [c for c in self.connections if not c.closed and c.connected_us is not None]

    # -- frames and ticks -----------------------------------------------------------------------

    def malformed(self, connection: Connection | None, error: Exception, data: Any) -> None:
        """Count a frame ccxt could not handle; a malformed_message event carries the count,
        at most one per MALFORMED_EVENT_INTERVAL_US (the rest wait for :meth:`flush_counters`)."""
        self.stats.malformed += 1
        self._malformed_since_event += 1
        self._last_malformed = (connection, describe_error(error, _SAMPLE_CHARS), data)
        if epoch_us_now() - self._last_malformed_event_us >= MALFORMED_EVENT_INTERVAL_US:
            self.flush_counters()

    def flush_counters(self) -> None:
        """Write the malformed frames counted since the last malformed_message event, so the
        events' ``count`` values add up to the total. The worker calls it every status interval;
        :meth:`stopped` calls it at exit."""
        if not self._malformed_since_event or self._last_malformed is None:
            return
        connection, error, data = self._last_malformed
        sample = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
        self.emit(
            "malformed_message",
            connection,
            level=logging.WARNING,
            error=error,
            count=self._malformed_since_event,
            total=self.stats.malformed,
            sample=sample[:_SAMPLE_CHARS],
        )
        self._malformed_since_event = 0
        self._last_malformed_event_us = epoch_us_now()

    def stopped(self, reason: str) -> None:
        """The collector stops watching this exchange (not a disconnect by the exchange): the
        pending counters, then a ``collector_stop`` event per open connection, or one for the
        exchange when none is open. The connections count as closed from here on."""
        self.flush_counters()
        now = epoch_us_now()
        open_now = self.open_connections()
        for connection in open_now:
            assert connection.connected_us is not None
            self.emit(
                "collector_stop",
                connection,
                reason=reason,
                uptime_s=round((now - connection.connected_us) / 1e6, 3),
                ticks=connection.ticks,
            )
            connection.closed = True
            connection.closed_event.set()
        if not open_now:
            self.emit("collector_stop", reason=reason)

    def ticker_frame(
        self, handler: Callable[..., Any], exchange: Any, client: Any, frame: Any
    ) -> Any:
        """Run a ticker handler on a decoded frame and land every ticker it stored, even if it
        failed halfway."""
        tickers = exchange.tickers
        if type(tickers) is not _RecordingTickers:
            tickers = exchange.tickers = _RecordingTickers(tickers or {})
        collected: list[tuple[str, Any]] = []
        tickers.collected = collected
        try:
            return handler(exchange, client, frame)
        finally:
            tickers.collected = None
            if collected:
                self._land_ccxt_frame(collected, frame)

    def _land_ccxt_frame(self, collected: list[tuple[str, Any]], frame: Any) -> None:
        rows = [
            self._ccxt_row(symbol, ticker, frame)
            for symbol, ticker in collected
            if isinstance(ticker, dict)
        ]
        connection = self._frame_connection
        if connection is not None and self.spec.fast_path is not None:
            self._learn_fast_symbols(connection, rows, self._frame_text)
        self._land_frame(rows, connection, self._arrival_us, self._frame_text)

    def _ccxt_row(self, symbol: str, ticker: dict[str, Any], frame: Any) -> LandingRow:
        raw = ticker.get("info")
        exchange_ts = exchange_time_ms(self.spec, raw, frame, ticker)
        return (symbol, raw, _ccxt_values(ticker), exchange_ts)

    def _learn_fast_symbols(
        self, connection: Connection, rows: list[LandingRow], text: str | None
    ) -> None:
        """After ccxt parsed a market's ticker on this connection, its later frames may take the
        fast path, but only if the fast readings of the same ticker equal ccxt's: ``values`` of
        the raw ticker and, for a one-ticker frame, the typed reading of the frame's text."""
        fast_path = self.spec.fast_path
        assert fast_path is not None
        single_ticker = fast_path.single_ticker if len(rows) == 1 else None
        for symbol, raw, unified, exchange_ts in rows:
            try:
                fast = fast_path.values(raw) if isinstance(raw, dict) else None
                typed = single_ticker(text) if single_ticker and text is not None else None
            except Exception:  # a ticker the fast readings cannot take stays with ccxt
                fast = typed = None
            if fast is None or fast.market_id in connection.fast_symbols:
                continue
            typed_agrees = typed is None or (
                typed[0].market_id == fast.market_id
                and _same_values(typed[0], unified)
                and typed[1] == exchange_ts
            )
            if _same_values(fast, unified) and typed_agrees:
                connection.fast_symbols[fast.market_id] = symbol
            else:
                connection.fast_symbols[fast.market_id] = None
                self.emit(
                    "fast_path_disagrees",
                    connection,
                    symbol=symbol,
                    level=logging.WARNING,
                    ccxt=[*unified[1:], exchange_ts],
                    fast=list(fast[1:]),
                    typed=None if typed is None else [*typed[0][1:], typed[1]],
                )

    def _fast_frame(self, connection: Connection, text: str, arrival_us: int) -> bool:
        """Land a ticker frame without ccxt when every ticker in it is of a market ccxt already
        mapped on this connection; False leaves the frame to ccxt (which also sees anything
        undecodable, so malformed frames are counted as before)."""
        # ccxt's client decodes only text that starts with '{' or '[' and hands anything else to
        # the exchange undecoded (orjson would also take, e.g., leading whitespace)
        if not text.startswith("{"):
            return False
        rows = self._fast_rows(connection.fast_symbols, text)
        if rows is None:
            return False
        self.stats.fast_path_ticks += len(rows)
        self._land_frame(rows, connection, arrival_us, text)
        return True

    def _fast_rows(self, symbols: dict[str, str | None], text: str) -> list[LandingRow] | None:
        """The frame's rows, read by the exchange's typed reading when it takes the frame (no
        dicts built at all), else decoded and read with ``values``; None if any ticker is not of
        a market in ``symbols`` or cannot be read."""
        fast_path = self.spec.fast_path
        assert fast_path is not None
        spec = self.spec
        try:
            if fast_path.single_ticker is not None:
                single = fast_path.single_ticker(text)
                if single is not None:
                    symbol = symbols.get(single[0].market_id)
                    return None if symbol is None else [(symbol, None, *single)]
            frame = orjson.loads(text)
            raws = fast_path.raw_tickers(frame)
            if not raws:
                return None
            rows: list[LandingRow] = []
            for raw in raws:
                values = fast_path.values(raw) if type(raw) is dict else None
                if values is None:
                    return None
                symbol = symbols.get(values.market_id)
                if symbol is None:
                    return None
                rows.append((symbol, raw, values, exchange_time_ms(spec, raw, frame)))
        except Exception:
            return None
        return rows

    def _land_frame(
        self,
        rows: list[LandingRow],
        connection: Connection | None,
        arrival_us: int,
        text: str | None,
    ) -> None:
        if not rows:
            return
        # A frame that carried one ticker is its raw record; otherwise each ticker's own JSON.
        frame_text = text if len(rows) == 1 else None
        self._land(rows, arrival_us, "ws", connection, frame_text)
        if connection is not None:
            connection.ticks += len(rows)
            connection.last_tick_us = arrival_us
            if connection.ticks == len(rows):
                self.emit(
                    "subscribed",
                    connection,
                    first_symbol=rows[0][0],
                    first_tick_s=round((arrival_us - connection.opened_us) / 1e6, 3),
                )

    def record_rest_ticker(self, symbol: str, ticker: Any, received_us: int) -> None:
        if isinstance(ticker, dict):
            self._land([self._ccxt_row(symbol, ticker, None)], received_us, "rest", None, None)

    def _land(
        self,
        rows: list[LandingRow],
        arrival_us: int,
        source: str,
        connection: Connection | None,
        frame_text: str | None,
    ) -> None:
        """Hand one Tick per row to the sink; reception text and connection are the frame's."""
        arrival_text = self._arrival_clock.from_us(arrival_us)
        connection_id = connection.connection_id if connection is not None else None
        exchange_id = self.exchange_id
        stats = self.stats
        last_raw = self._last_raw
        sink_tick = self.sink.tick
        for symbol, raw, values, exchange_ts in rows:
            # a repeated frame (or, for multi-ticker frames, a repeated raw ticker) is a duplicate
            fingerprint = frame_text if frame_text is not None else raw
            if fingerprint is not None and last_raw.get(symbol) == fingerprint:
                stats.duplicates += 1
            last_raw[symbol] = fingerprint
            exchange_text = None
            exchange_ts_source = "missing"
            if exchange_ts is not None:
                exchange_text = self._exchange_clock.from_ms(exchange_ts)
                exchange_ts_source = "exchange"
                previous = self._last_exchange_ts.get(symbol)
                if previous is not None and exchange_ts < previous:
                    stats.out_of_order += 1
                else:
                    self._last_exchange_ts[symbol] = exchange_ts
            raw_json = None
            if self.store_raw_json:
                raw_json = frame_text or json.dumps(raw, separators=(",", ":"), default=str)
            _, last, bid, ask, open_, high, low, base_volume, quote_volume = values
            sink_tick(
                _new_tick(
                    Tick,
                    (
                        arrival_text,
                        exchange_id,
                        symbol,
                        self.market_types.get(symbol),
                        last,
                        bid,
                        ask,
                        last,
                        open_,
                        high,
                        low,
                        base_volume,
                        quote_volume,
                        exchange_ts,
                        exchange_text,
                        raw_json,
                        arrival_us,
                        exchange_ts_source,
                        source,
                        connection_id,
                    ),
                )
            )
            self.last_tick_by_symbol[symbol] = arrival_us
        stats.ticks += len(rows)
        self.last_tick_us = arrival_us


def _ccxt_values(ticker: dict[str, Any]) -> TickerValues:
    """The landed values of a ccxt unified ticker (which holds floats or None; the writer
    coerces anything else). ccxt sets ``last`` and ``close`` alike; ``close`` stands in when an
    exchange's parser left ``last`` out."""
    get = ticker.get
    last = get("last")
    return TickerValues(
        "",
        last if last is not None else get("close"),
        get("bid"),
        get("ask"),
        get("open"),
        get("high"),
        get("low"),
        get("baseVolume"),
        get("quoteVolume"),
    )


def _same_values(fast: TickerValues, unified: TickerValues) -> bool:
    """Equal values (the market id aside); two NaNs are equal, as both readings kept them."""
    for mine, theirs in zip(fast[1:], unified[1:], strict=True):
        if mine == theirs:
            continue
        both_nan = (
            isinstance(mine, float)
            and isinstance(theirs, float)
            and math.isnan(mine)
            and math.isnan(theirs)
        )
        if not both_nan:
            return False
    return True


# -- the capturing subclass ---------------------------------------------------------------------

_CLASS_CACHE: dict[tuple[type, tuple[str, ...]], type] = {}


def _hooked_handler(original: Callable[..., Any]) -> Callable[..., Any]:
    def handler(self: Any, client: Any, message: Any) -> Any:
        return self.dwh_capture.ticker_frame(original, self, client, message)

    handler.__name__ = original.__name__
    return handler


def capturing_class(base: type[Any], ticker_handlers: tuple[str, ...]) -> type:
    """A subclass of a ccxt.pro exchange class with the capture hooks (cached per base)."""
    key = (base, ticker_handlers)
    if key in _CLASS_CACHE:
        return _CLASS_CACHE[key]

    def client(self: Any, url: str) -> Any:
        ws_client = base.client(self, url)
        if getattr(ws_client, "dwh_connection", None) is None:
            self.dwh_capture.attach(ws_client)
        return ws_client

    def on_connected(self: Any, client: Any, message: Any = None) -> None:
        base.on_connected(self, client, message)
        self.dwh_capture.connected(client)

    def on_error(self: Any, client: Any, error: Any) -> None:
        self.dwh_capture.disconnected(client, f"error: {error}", close_code=None)
        base.on_error(self, client, error)

    def on_close(self: Any, client: Any, error: Any) -> None:
        code = error if isinstance(error, int) else None
        reason = f"error: {client.error}" if client.error else "closed by server"
        self.dwh_capture.disconnected(client, reason, close_code=code)
        base.on_close(self, client, error)

    attributes: dict[str, Any] = {
        "client": client,
        "on_connected": on_connected,
        "on_error": on_error,
        "on_close": on_close,
    }
    for name in ticker_handlers:
        attributes[name] = _hooked_handler(getattr(base, name))
    subclass = type(f"Capturing{base.__name__}", (base,), attributes)
    _CLASS_CACHE[key] = subclass
    return subclass


def install_capture(exchange: Any, capture: ExchangeCapture) -> None:
    """Turn a ccxt.pro exchange instance into a capturing one (same state, hooked class)."""
    exchange.__class__ = capturing_class(type(exchange), capture.spec.ticker_handlers)
    exchange.dwh_capture = capture
