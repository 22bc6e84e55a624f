"""The market model behind every fake exchange.

One fair price per coin follows a seeded geometric random walk on a one-second grid that starts
at the UTC midnight before ``start - history``; every exchange prices each of its listings from
that fair price with its own per-second noise (also seeded), so live tickers and historical
1-minute candles come from the same path and two runs with the same seed on the same day agree.
The grid grows lazily an hour at a time, so the sandbox can run for days.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass

import numpy as np

SECONDS_PER_CHUNK = 3_600
MINUTE_MS = 60_000
DAY_MS = 86_400_000

# A plausible starting price per coin; unknown coins start from a price derived from the name.
REFERENCE_PRICES: dict[str, float] = {
    "BTC": 65_000.0,
    "ETH": 3_200.0,
    "SOL": 150.0,
    "XRP": 0.55,
    "DOGE": 0.12,
    "ADA": 0.45,
    "LTC": 80.0,
    "DOT": 6.5,
    "AVAX": 30.0,
    "LINK": 14.0,
}
DEFAULT_COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE")


def stable_seed(*parts: object) -> int:
    """A seed that is the same in every process (``hash()`` of a str is salted per process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def reference_price(coin: str) -> float:
    if coin in REFERENCE_PRICES:
        return REFERENCE_PRICES[coin]
    return 1.0 + stable_seed("price", coin) % 10_000 / 100.0


@dataclass(frozen=True)
class Quote:
    """One ticker as an exchange would state it, prices in the listing's quote currency."""

    event_ms: int
    last: float
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    last_size: float
    open_24h: float
    high_24h: float
    low_24h: float
    base_volume_24h: float
    quote_volume_24h: float
    trade_count_24h: int


@dataclass(frozen=True)
class Candle:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int


class SecondSeries:
    """A lazily grown per-second array drawn from a seeded generator.

    ``cumulative`` makes it a random walk of log returns (the fair price), otherwise iid noise.
    """

    def __init__(self, seed: int, sigma: float, *, cumulative: bool) -> None:
        self._rng = np.random.default_rng(seed)
        self._sigma = sigma
        self._cumulative = cumulative
        self._values = np.zeros(0)

    def upto(self, second: int) -> np.ndarray:
        """The series with at least ``second + 1`` values."""
        while self._values.size <= second:
            chunk = self._rng.normal(0.0, self._sigma, SECONDS_PER_CHUNK)
            if self._cumulative:
                offset = self._values[-1] if self._values.size else 0.0
                chunk = offset + np.cumsum(chunk)
            self._values = np.concatenate([self._values, chunk])
        return self._values


@dataclass(frozen=True)
class VenueStyle:
    """How one exchange prices: relative noise and half-spread in basis points, its bias."""

    noise_bps: float
    half_spread_bps: float
    bias_bps: float


class MarketModel:
    """Fair prices per coin and exchange prices per listing, at any millisecond since the anchor."""

    def __init__(self, coins: tuple[str, ...], seed: int, now_ms: int, history_ms: int) -> None:
        self.seed = seed
        self.anchor_ms = (now_ms - history_ms) // DAY_MS * DAY_MS
        # ~60 % annualised volatility on a one-second grid
        per_second_sigma = 0.6 / math.sqrt(365 * 86_400)
        self._fair = {
            coin: SecondSeries(stable_seed(seed, "fair", coin), per_second_sigma, cumulative=True)
            for coin in coins
        }
        self._noise: dict[tuple[str, str], SecondSeries] = {}
        self._styles: dict[str, VenueStyle] = {}
        self._stats_cache: dict[
            tuple[str, str, str, int], tuple[float, float, float, float, int]
        ] = {}
        self._live_rng = random.Random(stable_seed(seed, "live"))

    def add_venue(self, exchange: str, style: VenueStyle) -> None:
        self._styles[exchange] = style

    def _second(self, t_ms: int) -> int:
        if t_ms < self.anchor_ms:
            raise ValueError(f"time {t_ms} is before the model's history starts ({self.anchor_ms})")
        return (t_ms - self.anchor_ms) // 1000

    def fair_price(self, coin: str, t_ms: int) -> float:
        second = self._second(t_ms)
        path = self._fair[coin].upto(second + 1)
        fraction = (t_ms - self.anchor_ms) % 1000 / 1000
        log_return = path[second] * (1 - fraction) + path[second + 1] * fraction
        return reference_price(coin) * math.exp(log_return)

    def _noise_series(self, exchange: str, coin: str) -> SecondSeries:
        key = (exchange, coin)
        if key not in self._noise:
            style = self._styles[exchange]
            self._noise[key] = SecondSeries(
                stable_seed(self.seed, "noise", exchange, coin),
                style.noise_bps / 10_000,
                cumulative=False,
            )
        return self._noise[key]

    def exchange_prices(self, exchange: str, coin: str, start_s: int, end_s: int) -> np.ndarray:
        """Per-second exchange prices for seconds ``[start_s, end_s)`` since the anchor."""
        fair = self._fair[coin].upto(end_s)[start_s:end_s]
        noise = self._noise_series(exchange, coin).upto(end_s)[start_s:end_s]
        bias = self._styles[exchange].bias_bps / 10_000
        prices: np.ndarray = reference_price(coin) * np.exp(fair) * (1 + bias + noise)
        return prices

    def candles(
        self, exchange: str, coin: str, start_ms: int, end_ms: int, now_ms: int
    ) -> list[Candle]:
        """1-minute candles whose open time is in ``[start_ms, end_ms)`` as known at ``now_ms``:
        closed ones, then the current one built from its seconds so far. Nothing before the
        anchor exists and nothing after ``now_ms``."""
        first = max(start_ms, self.anchor_ms)
        first_open = -(-(first - self.anchor_ms) // MINUTE_MS) * MINUTE_MS + self.anchor_ms
        last_open = min(end_ms - 1, now_ms)
        return [
            self._candle(exchange, coin, open_ms, now_ms)
            for open_ms in range(first_open, last_open + 1, MINUTE_MS)
        ]

    def _candle(self, exchange: str, coin: str, open_ms: int, now_ms: int) -> Candle:
        start_s = self._second(open_ms)
        seconds = min(60, (now_ms - open_ms) // 1000 + 1)
        prices = self.exchange_prices(exchange, coin, start_s, start_s + seconds)
        volume_rng = random.Random(stable_seed(self.seed, "volume", exchange, coin, open_ms))
        trades = max(1, volume_rng.randint(20, 400) * seconds // 60)
        # volume in base units worth roughly 50k-500k quote per minute, pro rata while it runs
        volume = round(volume_rng.uniform(5e4, 5e5) * seconds / 60 / float(prices[0]), 8)
        return Candle(
            open_ms=open_ms,
            open=float(prices[0]),
            high=float(prices.max()),
            low=float(prices.min()),
            close=float(prices[-1]),
            volume=volume,
            trades=trades,
        )

    def _day_stats(
        self, exchange: str, coin: str, quote_ccy: str, t_ms: int
    ) -> tuple[float, float, float, float, int]:
        """(open, high, low, base volume, trades) over the 24 h before ``t_ms``, per minute."""
        minute = t_ms // MINUTE_MS
        key = (exchange, coin, quote_ccy, minute)
        cached = self._stats_cache.get(key)
        if cached is not None:
            return cached
        start = max(self.anchor_ms, minute * MINUTE_MS - DAY_MS)
        start_s = self._second(start)
        end_s = max(start_s + 1, self._second(minute * MINUTE_MS))
        prices = self.exchange_prices(exchange, coin, start_s, end_s)
        volume_rng = random.Random(stable_seed(self.seed, "day-volume", exchange, coin, minute))
        stats = (
            float(prices[0]),
            float(prices.max()),
            float(prices.min()),
            volume_rng.uniform(2e7, 2e8) / float(prices[-1]),
            volume_rng.randint(30_000, 600_000),
        )
        if len(self._stats_cache) > 10_000:
            self._stats_cache.clear()
        self._stats_cache[key] = stats
        return stats

    def quote(self, exchange: str, coin: str, quote_ccy: str, t_ms: int, tick: float) -> Quote:
        """The exchange's ticker for ``coin/quote_ccy`` at ``t_ms``; bid and ask are on the
        ``tick`` grid and at least one tick apart."""
        style = self._styles[exchange]
        second = self._second(t_ms)
        mid = float(self.exchange_prices(exchange, coin, second, second + 1)[0])
        mid *= 1 + self._live_rng.gauss(0.0, style.noise_bps / 40_000)
        half_spread = mid * style.half_spread_bps / 10_000
        bid = math.floor((mid - half_spread) / tick) * tick
        ask = max(bid + tick, math.ceil((mid + half_spread) / tick) * tick)
        last = bid if self._live_rng.random() < 0.5 else ask
        open_24h, high_24h, low_24h, base_volume, trades = self._day_stats(
            exchange, coin, quote_ccy, t_ms
        )
        return Quote(
            event_ms=t_ms,
            last=last,
            bid=bid,
            ask=ask,
            bid_size=round(self._live_rng.uniform(0.01, 5.0), 8),
            ask_size=round(self._live_rng.uniform(0.01, 5.0), 8),
            last_size=round(self._live_rng.uniform(0.0001, 1.0), 8),
            open_24h=open_24h,
            high_24h=max(high_24h, last),
            low_24h=min(low_24h, last),
            base_volume_24h=base_volume,
            quote_volume_24h=base_volume * mid,
            trade_count_24h=trades,
        )
