"""Gap repair: land the missed minutes of a gap from REST 1-minute OHLCV, flagged ``backfill``.

A gap runs from the last live tick (or the disconnect) to the first tick after the reconnect.
Every 1-minute candle that overlaps it is landed once per worker life (a watermark per symbol
skips candles already landed), with ``source = 'backfill'``, ``price = close`` and the candle's
open time as the exchange time, so it is never mistaken for a live tick.

A request the exchange rate-limits (HTTP 429: ccxt's ``RateLimitExceeded`` / ``DDoSProtection``)
or cannot serve (``ExchangeNotAvailable``, ``RequestTimeout``, other network errors, our own
timeout) is retried up to ``retries`` times, each after the backoff
(:class:`extract.collector.backoff.Backoff`, at least the exchange's ``Retry-After``) and
recorded as a ``backfill_retry`` event; only when the retries are spent is the symbol given up
with ``backfill_failed``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import ccxt

from extract.collector.backoff import Backoff, retry_after_s
from extract.collector.capture import ExchangeCapture
from extract.collector.logs import describe_error
from extract.collector.records import Tick
from extract.timeutil import epoch_us_now, iso_ms_from_epoch_ms, iso_ms_from_epoch_us

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Gap:
    since_us: int
    until_us: int
    reason: str


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def candle_ticks(
    exchange_id: str,
    symbol: str,
    candles: Sequence[Sequence[Any]],
    *,
    first_minute_ms: int,
    until_ms: int,
    after_ms: int | None,
    market_type: str | None,
    received_us: int,
) -> list[Tick]:
    """Ticks for candles opened in [first_minute_ms, until_ms] and after ``after_ms``."""
    ticks = []
    for candle in candles:
        opened_ms = int(candle[0])
        if opened_ms < first_minute_ms or opened_ms > until_ms:
            continue
        if after_ms is not None and opened_ms <= after_ms:
            continue
        ticks.append(
            Tick(
                ingestion_ts_utc=iso_ms_from_epoch_us(received_us),
                exchange_id=exchange_id,
                symbol=symbol,
                market_type=market_type,
                price=_float(candle[4]),
                bid=None,
                ask=None,
                last=None,
                open=_float(candle[1]),
                high=_float(candle[2]),
                low=_float(candle[3]),
                base_volume=_float(candle[5]) if len(candle) > 5 else None,
                quote_volume=None,
                exchange_ts_ms=opened_ms,
                exchange_ts_utc=iso_ms_from_epoch_ms(opened_ms),
                raw_json=json.dumps(list(candle)),
                ingestion_ts_us=received_us,
                exchange_ts_source="exchange",
                source="backfill",
                connection_id=None,
            )
        )
    return ticks


class Backfiller:
    """Repairs gaps for one exchange, one gap at a time, every REST call bounded."""

    def __init__(
        self,
        exchange: Any,
        capture: ExchangeCapture,
        symbols: Sequence[str],
        market_types: Mapping[str, str],
        *,
        max_minutes: int,
        timeout_s: float,
        backoff: Backoff,
        retries: int,
    ) -> None:
        self.exchange = exchange
        self.capture = capture
        self.symbols = tuple(symbols)
        self.market_types = market_types
        self.max_minutes = max_minutes
        self.timeout_s = timeout_s
        self.backoff = backoff
        self.retries = retries
        self.watermarks: dict[str, int] = {}
        self.rows_landed = 0
        self._lock = asyncio.Lock()

    async def repair(self, gap: Gap) -> int:
        async with self._lock:
            return await self._repair(gap)

    async def _fetch_minutes(
        self, symbol: str, first_minute_ms: int, until_ms: int
    ) -> list[Sequence[Any]]:
        """1-minute candles opened in [first_minute_ms, until_ms], page by page.

        Exchanges cap one OHLCV response (okx and coinbase at 300 candles, kraken 720, binance
        1000), so a long gap or the start-up history takes several requests: each page starts
        after the newest candle of the previous one. Pages are bounded by the gap's length.
        """
        candles: list[Sequence[Any]] = []
        cursor_ms = first_minute_ms
        max_pages = (until_ms - first_minute_ms) // MINUTE_MS // 100 + 2
        for _ in range(max_pages):
            remaining = (until_ms - cursor_ms) // MINUTE_MS + 2
            page = await self._fetch_page(symbol, cursor_ms, remaining)
            fresh = [candle for candle in page or [] if int(candle[0]) >= cursor_ms]
            if not fresh:
                break
            candles.extend(fresh)
            cursor_ms = max(int(candle[0]) for candle in fresh) + MINUTE_MS
            if cursor_ms > until_ms:
                break
        return candles

    async def _fetch_page(self, symbol: str, since_ms: int, limit: int) -> list[Sequence[Any]]:
        """One OHLCV request, retried while the exchange rate-limits it or is unavailable."""
        for attempt in range(1, self.retries + 2):
            try:
                page: list[Sequence[Any]] = await asyncio.wait_for(
                    self.exchange.fetch_ohlcv(symbol, "1m", since_ms, limit),
                    timeout=self.timeout_s,
                )
                return page
            except (ccxt.NetworkError, TimeoutError) as error:
                if attempt > self.retries:
                    raise
                rate_limited = isinstance(error, ccxt.RateLimitExceeded | ccxt.DDoSProtection)
                asked_s = retry_after_s(self.exchange) if rate_limited else None
                delay = self.backoff.delay_s(attempt, asked_s)
                self.capture.emit(
                    "backfill_retry",
                    symbol=symbol,
                    level=logging.WARNING,
                    reason="rate_limited" if rate_limited else "unavailable",
                    attempt=attempt,
                    delay_s=round(delay, 3),
                    retry_after_s=asked_s,
                    error=describe_error(error),
                )
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _repair(self, gap: Gap) -> int:
        capture = self.capture
        since_ms = max(gap.since_us // 1000, gap.until_us // 1000 - self.max_minutes * MINUTE_MS)
        until_ms = gap.until_us // 1000
        first_minute_ms = since_ms - since_ms % MINUTE_MS
        capture.emit(
            "backfill_started",
            reason=gap.reason,
            since_utc=iso_ms_from_epoch_us(since_ms * 1000),
            until_utc=iso_ms_from_epoch_us(gap.until_us),
            gap_s=round((gap.until_us - gap.since_us) / 1e6, 3),
            symbols=len(self.symbols),
        )
        landed = 0
        failed: list[str] = []
        for symbol in self.symbols:
            try:
                candles = await self._fetch_minutes(symbol, first_minute_ms, until_ms)
            except Exception as error:
                failed.append(symbol)
                capture.emit(
                    "backfill_failed",
                    symbol=symbol,
                    level=logging.WARNING,
                    attempts=self.retries + 1,
                    error=describe_error(error),
                )
                continue
            ticks = candle_ticks(
                capture.exchange_id,
                symbol,
                candles or [],
                first_minute_ms=first_minute_ms,
                until_ms=until_ms,
                after_ms=self.watermarks.get(symbol),
                market_type=self.market_types.get(symbol),
                received_us=epoch_us_now(),
            )
            for tick in ticks:
                capture.sink.tick(tick)
            if ticks:
                self.watermarks[symbol] = max(t.exchange_ts_ms or 0 for t in ticks)
            landed += len(ticks)
        self.rows_landed += landed
        capture.emit(
            "backfill_done",
            rows=landed,
            symbols=len(self.symbols),
            failed_symbols=len(failed),
            reason=gap.reason,
        )
        return landed
