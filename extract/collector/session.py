"""One exchange inside a worker: subscribe, watch the feed, reconnect with backoff, repair gaps.

ccxt does not reconnect by itself (the next ``watch_*`` call redials), and a rejected subscription
can leave ``watch_*`` waiting forever. So a session subscribes once per connection with a bounded
wait, then watches the connection itself: a closed socket or a feed silent beyond
``stale_after_s`` ends the attempt, the sockets are closed, and after
``min(reconnect_base_s * 2^(n-1), reconnect_max_s)`` (longer if the exchange asked with
Retry-After; :class:`extract.collector.backoff.Backoff`) the session redials; ``n`` counts the
failed attempts in a row and resets once a connection stayed up for ``stable_window_s``. Every
wait is bounded. Ticks are captured inside ccxt (see :mod:`extract.collector.capture`), so the
values ``watch_*`` returns are not used. On stop, a ``collector_stop`` event per open connection
(or one for the exchange when none is open) marks the end of the time it was watched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import ccxt.pro

from extract.collector.backfill import Backfiller, Gap
from extract.collector.backoff import Backoff, retry_after_s
from extract.collector.capture import ExchangeCapture, TickSink, install_capture
from extract.collector.config import CollectorConfig
from extract.collector.logs import describe_error, log_event
from extract.collector.markets import (
    STREAM_PER_SYMBOL,
    STREAM_REST,
    STREAM_TICKERS,
    CollectionPlan,
    plan_collection,
)
from extract.exchanges import spec_for
from extract.exchanges.client import build_exchange
from extract.timeutil import epoch_us_now

T = TypeVar("T")
CLIENT_CLOSE_TIMEOUT_S = 2.0
CLOSE_TIMEOUT_S = 12.0


class _Stopped(Exception):
    """The session was asked to stop while it waited."""


class SubscriptionFailed(RuntimeError):
    """No subscription of the attempt delivered a ticker (rejected, or silent past the timeout)."""


@dataclass(frozen=True)
class Outcome:
    """Why a connection attempt ended, and how long the exchange asked us to wait (if it did)."""

    reason: str
    retry_after_s: float | None = None


def _market_content(ticker: Any) -> tuple[object, ...]:
    """What makes a polled ticker a new update. Not its timestamp: REST snapshots are stamped
    when served (e.g. binance's 24 h window end), so it moves with every poll."""
    if not isinstance(ticker, Mapping):
        return (ticker,)
    return tuple(ticker.get(field) for field in ("last", "bid", "ask", "baseVolume", "quoteVolume"))


class ExchangeSession:
    def __init__(
        self,
        exchange_id: str,
        config: CollectorConfig,
        sink: TickSink,
        stop: asyncio.Event,
        *,
        resume_since_us: int | None = None,
    ) -> None:
        self.exchange_id = exchange_id
        self.config = config
        self.stop = stop
        self.capture = ExchangeCapture(
            exchange_id, spec_for(exchange_id), sink, store_raw_json=config.store_raw_json
        )
        self.plan: CollectionPlan | None = None
        self.excluded_reason: str | None = None
        self.reconnects = 0
        self.backoff = Backoff(config.reconnect_base_s, config.reconnect_max_s)
        self.gap_since_us = resume_since_us
        self.exchange: Any = None
        self._backfiller: Backfiller | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._stalled_symbols: set[str] = set()
        self._last_polled: dict[str, tuple[object, ...]] = {}
        self.unchanged_polled_tickers = 0
        self._phase = "markets"

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> None:
        exchange = build_exchange(
            self.exchange_id,
            sandbox_url=self.config.sandbox or None,
            config={"timeout": int(self.config.request_timeout_s * 1000)},
        )
        install_capture(exchange, self.capture)
        self.exchange = exchange
        try:
            await self._run_attempts()
        finally:
            await self._shutdown()

    async def _run_attempts(self) -> None:
        failures = 0
        while not self.stop.is_set():
            attempt_started_us = epoch_us_now()
            outcome = await self._attempt()
            if outcome is None or self.stop.is_set():
                return
            await self._close_sockets(outcome.reason)
            now = epoch_us_now()
            if self.gap_since_us is None:
                self.gap_since_us = self.capture.last_tick_us or attempt_started_us
            connected_for_s = (now - attempt_started_us) / 1e6
            if connected_for_s >= self.config.stable_window_s:
                failures = 0
            failures += 1
            delay = self.backoff.delay_s(failures, outcome.retry_after_s)
            self.reconnects += 1
            self.capture.emit(
                "reconnect_wait", delay_s=round(delay, 3), reason=outcome.reason, attempt=failures
            )
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=delay)
            except TimeoutError:
                pass

    async def _attempt(self) -> Outcome | None:
        try:
            if self.plan is None:
                self._phase = "markets"
                prepared = await self._prepare()
                if prepared is None:
                    return None
            self._phase = "subscribe"
            await self._subscribe()
            self._phase = "stream"
            self._start_backfill()
            return await self._watch()
        except asyncio.CancelledError:
            raise
        except _Stopped:
            return None
        except Exception as error:
            return self._classify(error)

    async def _until_stopped(self, awaitable: Awaitable[T], timeout_s: float) -> T:
        """Await with a bound, giving up at once (``_Stopped``) when the session is stopped."""
        task = asyncio.ensure_future(awaitable)
        stopping = asyncio.ensure_future(self.stop.wait())
        try:
            done, _ = await asyncio.wait(
                {task, stopping}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            stopping.cancel()
        if task in done:
            return task.result()
        task.cancel()
        await asyncio.wait({task}, timeout=CLIENT_CLOSE_TIMEOUT_S)
        if self.stop.is_set():
            raise _Stopped
        raise TimeoutError

    async def _prepare(self) -> CollectionPlan | None:
        await self._until_stopped(self.exchange.load_markets(), self.config.request_timeout_s)
        plan = plan_collection(self.exchange.markets or {}, self.exchange.has, self.config)
        if isinstance(plan, str):
            self.excluded_reason = plan
            self.capture.emit("exchange_excluded", level=logging.WARNING, reason=plan)
            return None
        for symbol in plan.skipped_symbols:
            log_event(
                logging.WARNING, "symbol_not_listed", exchange=self.exchange_id, symbol=symbol
            )
        self.plan = plan
        self.capture.market_types = plan.market_types
        if self.config.backfill:
            self._backfiller = Backfiller(
                self.exchange,
                self.capture,
                plan.symbols,
                plan.market_types,
                max_minutes=self.config.backfill_max_minutes,
                timeout_s=self.config.request_timeout_s,
                backoff=self.backoff,
                retries=self.config.backfill_retries,
            )
        log_event(
            logging.INFO,
            "collection_planned",
            exchange=self.exchange_id,
            mode=plan.mode,
            symbols=",".join(plan.symbols),
        )
        return plan

    async def _subscribe(self) -> None:
        assert self.plan is not None
        timeout = self.config.subscribe_timeout_s
        if self.plan.mode == STREAM_TICKERS:
            try:
                await self._until_stopped(
                    self.exchange.watch_tickers(list(self.plan.symbols)), timeout
                )
            except TimeoutError:
                raise SubscriptionFailed(f"no ticker within {timeout:g} s of subscribing") from None
        elif self.plan.mode == STREAM_PER_SYMBOL:
            await self._subscribe_per_symbol(timeout)

    async def _subscribe_per_symbol(self, wait_s: float) -> None:
        assert self.plan is not None
        watches = {
            asyncio.ensure_future(self.exchange.watch_ticker(symbol)): symbol
            for symbol in self.plan.symbols
        }
        done, pending = await asyncio.wait(watches, timeout=wait_s)
        for task in pending:
            task.cancel()
        succeeded = 0
        for task, symbol in watches.items():
            if task in done and task.exception() is None:
                succeeded += 1
                continue
            error = task.exception() if task in done else None
            reason = describe_error(error) if error else f"no ticker within {wait_s:g} s"
            self.capture.emit(
                "subscription_rejected", symbol=symbol, level=logging.WARNING, reason=reason
            )
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        if succeeded == 0:
            raise SubscriptionFailed("every per-symbol subscription failed")

    async def _watch(self) -> Outcome | None:
        assert self.plan is not None
        if self.plan.mode == STREAM_REST:
            return await self._poll_rest()
        stale_after_us = int(self.config.stale_after_s * 1_000_000)
        interval = min(1.0, self.config.stale_after_s / 4)
        watching_since_us = epoch_us_now()
        while not self.stop.is_set():
            if self.capture.poll_closed():
                return Outcome("disconnected")
            now = epoch_us_now()
            last = max(self.capture.last_tick_us or 0, watching_since_us)
            if now - last > stale_after_us:
                self.capture.emit(
                    "stale_detected",
                    level=logging.WARNING,
                    scope="connection",
                    silent_s=round((now - last) / 1e6, 3),
                    limit_s=self.config.stale_after_s,
                )
                return Outcome("stale")
            self._check_symbol_stalls(now, max(watching_since_us, 0), stale_after_us)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=interval)
            except TimeoutError:
                pass
        return None

    def _check_symbol_stalls(self, now: int, watching_since_us: int, limit_us: int) -> None:
        """A symbol silent beyond the limit on a live connection is reported once per stall."""
        assert self.plan is not None
        for symbol in self.plan.symbols:
            last = max(self.capture.last_tick_by_symbol.get(symbol, 0), watching_since_us)
            if now - last <= limit_us:
                self._stalled_symbols.discard(symbol)
            elif symbol not in self._stalled_symbols:
                self._stalled_symbols.add(symbol)
                self.capture.emit(
                    "stale_detected",
                    symbol=symbol,
                    level=logging.WARNING,
                    scope="symbol",
                    silent_s=round((now - last) / 1e6, 3),
                    limit_s=self.config.stale_after_s,
                )

    async def _poll_rest(self) -> Outcome | None:
        """Poll fetch_tickers; a ticker lands only when its market content changed since the
        previous poll, so polling faster than the market moves adds no phantom updates."""
        assert self.plan is not None
        symbols = list(self.plan.symbols)
        while not self.stop.is_set():
            tickers = await self._until_stopped(
                self.exchange.fetch_tickers(symbols), self.config.request_timeout_s
            )
            received_us = epoch_us_now()
            for symbol, ticker in (tickers or {}).items():
                if symbol not in self.plan.market_types:
                    continue
                content = _market_content(ticker)
                if self._last_polled.get(symbol) == content:
                    self.unchanged_polled_tickers += 1
                    continue
                self._last_polled[symbol] = content
                self.capture.record_rest_ticker(symbol, ticker, received_us)
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=self.config.rest_poll_interval_s)
            except TimeoutError:
                pass
        return None

    # -- failures -------------------------------------------------------------------------------

    def _classify(self, error: Exception) -> Outcome:
        text = describe_error(error)
        if isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection) or "429" in str(error):
            retry_after = retry_after_s(self.exchange)
            self.capture.emit(
                "rate_limited",
                level=logging.WARNING,
                phase=self._phase,
                error=text,
                retry_after_s=retry_after,
            )
            return Outcome("rate_limited", retry_after)
        if isinstance(error, SubscriptionFailed) or (
            self._phase == "subscribe" and isinstance(error, ccxt.ExchangeError)
        ):
            self.capture.emit("subscription_rejected", level=logging.WARNING, reason=text)
            return Outcome("subscription_rejected")
        log_event(
            logging.WARNING,
            "attempt_failed",
            exchange=self.exchange_id,
            phase=self._phase,
            error=text,
        )
        return Outcome(f"{self._phase} failed: {text}")

    # -- sockets and gaps -----------------------------------------------------------------------

    def _start_backfill(self) -> None:
        if self._backfiller is None or self.gap_since_us is None:
            return
        gap = Gap(self.gap_since_us, epoch_us_now(), "reconnect" if self.reconnects else "start")
        self.gap_since_us = None
        task = asyncio.ensure_future(self._backfiller.repair(gap))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _close_sockets(self, reason: str) -> None:
        for connection in self.capture.open_connections():
            self.capture.disconnected(connection.client, reason, initiated_by="client")
        await self._close_clients()

    async def _close_clients(self) -> None:
        """Close every websocket of the exchange; a peer that does not answer the close
        handshake within CLIENT_CLOSE_TIMEOUT_S (a half-open socket) gets its transport cut."""
        clients = getattr(self.exchange, "clients", None) or {}
        if not clients:
            return
        results = await asyncio.gather(
            *(
                asyncio.wait_for(client.close(), CLIENT_CLOSE_TIMEOUT_S)
                for client in clients.values()
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, Exception) and not isinstance(result, TimeoutError):
                log_event(
                    logging.WARNING,
                    "close_failed",
                    exchange=self.exchange_id,
                    error=describe_error(result),
                )
        clients.clear()

    async def _shutdown(self) -> None:
        # first, before any await can be cancelled: the worker commits these in its final drain
        self.capture.stopped("shutdown")
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.wait(self._background, timeout=CLOSE_TIMEOUT_S)
        await self._close_clients()
        try:
            await asyncio.wait_for(self.exchange.close(), timeout=CLOSE_TIMEOUT_S)
        except Exception as error:
            log_event(
                logging.WARNING,
                "close_failed",
                exchange=self.exchange_id,
                error=describe_error(error),
            )

    @property
    def backfilled_rows(self) -> int:
        return self._backfiller.rows_landed if self._backfiller is not None else 0

    def connections_up(self) -> int:
        return len(self.capture.open_connections())
