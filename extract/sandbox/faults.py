"""Faults on demand: what can go wrong, where, and for how long.

A fault is scoped to one exchange (and, where it makes sense, one symbol) and bounded by a count
(of connections, frames, subscriptions or requests) or a duration. The same :class:`FaultSpec`
comes from the command line (``--fault kind:key=value,...``) and from ``POST /_control/faults``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# kind -> (what it does, the unit its count bounds, whether it needs a duration)
FAULT_KINDS: dict[str, tuple[str, str, bool]] = {
    "drop": (
        "close open websockets (mode=close sends a close frame with code, mode=abort "
        "resets the TCP connection)",
        "connections",
        False,
    ),
    "half_open": (
        "open websockets stop sending and reading but stay connected",
        "connections",
        True,
    ),
    "stall": ("a channel (symbol) stops updating while everything else continues", "", True),
    "malformed": ("frames are replaced by invalid JSON", "frames", False),
    "duplicate": ("ticker frames are sent twice", "frames", False),
    "out_of_order": ("each pair of ticker frames is sent in reverse order", "frames", False),
    "outlier": ("ticker prints are multiplied by factor", "frames", False),
    "reject_subscription": (
        "subscription requests get the exchange's error answer",
        "subscriptions",
        False,
    ),
    "http_429": (
        "REST requests get HTTP 429 with the exchange's rate-limit body",
        "requests",
        False,
    ),
    "down": (
        "the exchange resets REST and websocket connections and drops its sockets "
        "(exchange=*: the whole server stops listening)",
        "",
        True,
    ),
}
DROP_MODES = ("close", "abort")
# ``down`` on this "exchange" stops the whole server listening
ALL_EXCHANGES = "*"
# faults that act on a whole exchange; the rest may name one symbol
EXCHANGE_ONLY = ("reject_subscription", "http_429", "down")
SPEC_KEYS = ("exchange", "symbol", "count", "duration_s", "after_s", "code", "mode", "factor")


class FaultError(ValueError):
    """An invalid fault specification; the message names the problem and the valid choices."""


@dataclass(frozen=True)
class FaultSpec:
    kind: str
    exchange: str
    symbol: str | None = None
    count: int | None = None
    duration_s: float | None = None
    after_s: float = 0.0
    code: int = 1001
    mode: str = "close"
    factor: float = 10.0

    def describe(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ("kind", *SPEC_KEYS)}


def validate(
    spec: FaultSpec, exchanges: tuple[str, ...], symbols: Mapping[str, set[str]]
) -> FaultSpec:
    """Check a spec against the sandbox's exchanges and symbols; a fault bounded by a count and
    given neither count nor duration gets ``count=1``."""
    if spec.kind not in FAULT_KINDS:
        raise FaultError(f"unknown fault {spec.kind!r}; choose one of {', '.join(FAULT_KINDS)}")
    if spec.exchange == ALL_EXCHANGES and spec.kind != "down":
        raise FaultError(f"exchange '{ALL_EXCHANGES}' is only for fault down (the whole server)")
    if spec.exchange not in (*exchanges, ALL_EXCHANGES):
        raise FaultError(
            f"unknown exchange {spec.exchange!r} for fault {spec.kind}; "
            f"choose one of {', '.join(exchanges)}"
        )
    if spec.symbol is not None and spec.kind in EXCHANGE_ONLY:
        raise FaultError(f"fault {spec.kind} applies to a whole exchange; leave out symbol")
    if spec.symbol is not None and spec.symbol not in symbols[spec.exchange]:
        raise FaultError(
            f"unknown symbol {spec.symbol!r} on {spec.exchange}; choose one of "
            f"{', '.join(sorted(symbols[spec.exchange]))}"
        )
    _, unit, needs_duration = FAULT_KINDS[spec.kind]
    if spec.count is not None and spec.count < 1:
        raise FaultError(f"fault {spec.kind}: count must be >= 1, got {spec.count}")
    if spec.duration_s is not None and not (0 < spec.duration_s <= 3600):
        raise FaultError(
            f"fault {spec.kind}: duration_s must be in (0, 3600], got {spec.duration_s}"
        )
    if not (0 <= spec.after_s <= 86_400):
        raise FaultError(f"fault {spec.kind}: after_s must be in [0, 86400], got {spec.after_s}")
    if spec.mode not in DROP_MODES:
        raise FaultError(
            f"fault {spec.kind}: unknown mode {spec.mode!r}; choose one of {', '.join(DROP_MODES)}"
        )
    if not (1000 <= spec.code <= 4999):
        raise FaultError(f"fault {spec.kind}: close code must be in [1000, 4999], got {spec.code}")
    if not (math.isfinite(spec.factor) and spec.factor > 0):
        raise FaultError(f"fault {spec.kind}: factor must be a positive number, got {spec.factor}")
    if needs_duration and spec.duration_s is None:
        raise FaultError(f"fault {spec.kind} needs duration_s (seconds)")
    if not unit and spec.count is not None:
        raise FaultError(f"fault {spec.kind} is bounded by duration_s, not count")
    if unit and spec.count is None and spec.duration_s is None:
        return replace(spec, count=1)
    return spec


def from_mapping(payload: Mapping[str, Any]) -> FaultSpec:
    """A spec from JSON (the control endpoint); types are checked, values by :func:`validate`."""
    unknown = set(payload) - {"kind", *SPEC_KEYS}
    if unknown:
        raise FaultError(
            f"unknown fault field(s) {', '.join(sorted(unknown))}; "
            f"valid fields: kind, {', '.join(SPEC_KEYS)}"
        )
    if not isinstance(payload.get("kind"), str):
        raise FaultError(f"fault needs a 'kind'; choose one of {', '.join(FAULT_KINDS)}")
    if not isinstance(payload.get("exchange"), str):
        raise FaultError("fault needs an 'exchange'")
    try:
        return FaultSpec(
            kind=payload["kind"],
            exchange=payload["exchange"],
            symbol=None if payload.get("symbol") is None else str(payload["symbol"]),
            count=None if payload.get("count") is None else _as_int(payload["count"], "count"),
            duration_s=None if payload.get("duration_s") is None else float(payload["duration_s"]),
            after_s=float(payload.get("after_s", 0.0)),
            code=_as_int(payload.get("code", 1001), "code"),
            mode=str(payload.get("mode", "close")),
            factor=float(payload.get("factor", 10.0)),
        )
    except (TypeError, ValueError) as error:
        raise FaultError(f"invalid fault field: {error}") from error


def _as_int(value: Any, name: str) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, str))
        or not str(value).lstrip("-").isdigit()
    ):
        raise FaultError(f"{name} must be an integer, got {value!r}")
    return int(value)


def parse_cli(text: str) -> FaultSpec:
    """``kind:key=value,...``, e.g. ``drop:exchange=binance,mode=abort,after_s=5``."""
    kind, _, rest = text.partition(":")
    payload: dict[str, Any] = {"kind": kind.strip()}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise FaultError(
                f"fault option {item!r} is not key=value; valid keys: {', '.join(SPEC_KEYS)}"
            )
        payload[key.strip()] = value.strip()
    return from_mapping(payload)


@dataclass
class ActiveFault:
    """A validated fault with its remaining budget."""

    id: int
    spec: FaultSpec
    starts_at: float
    remaining: int | None
    ends_at: float | None
    fired: int = 0

    def live(self, now: float) -> bool:
        if now < self.starts_at:
            return False
        if self.ends_at is not None and now >= self.ends_at:
            return False
        return self.remaining is None or self.remaining > 0

    def expired(self, now: float) -> bool:
        if self.ends_at is not None and now >= self.ends_at:
            return True
        return self.remaining is not None and self.remaining <= 0

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            **self.spec.describe(),
            "active": self.live(now),
            "remaining": self.remaining,
            "fired": self.fired,
            "seconds_left": None
            if self.ends_at is None
            else max(0.0, round(self.ends_at - now, 3)),
        }


@dataclass
class FaultBook:
    """Every fault added since the last reset; the server asks it before each action."""

    faults: list[ActiveFault] = field(default_factory=list)
    _next_id: int = 1

    def add(self, spec: FaultSpec) -> ActiveFault:
        now = time.monotonic()
        starts = now + spec.after_s
        fault = ActiveFault(
            id=self._next_id,
            spec=spec,
            starts_at=starts,
            remaining=spec.count,
            ends_at=None if spec.duration_s is None else starts + spec.duration_s,
        )
        self._next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def active(self, kind: str, exchange: str, symbol: str | None = None) -> ActiveFault | None:
        """The first live fault of ``kind`` for this exchange (and symbol), without consuming it."""
        now = time.monotonic()
        for fault in self.faults:
            spec = fault.spec
            if spec.kind != kind or not fault.live(now):
                continue
            if spec.exchange not in (exchange, ALL_EXCHANGES):
                continue
            if spec.symbol is not None and spec.symbol != symbol:
                continue
            return fault
        return None

    def take(self, kind: str, exchange: str, symbol: str | None = None) -> ActiveFault | None:
        """Like :meth:`active`, and spend one unit of its count."""
        fault = self.active(kind, exchange, symbol)
        if fault is not None:
            fault.fired += 1
            if fault.remaining is not None:
                fault.remaining -= 1
        return fault

    def describe(self) -> list[dict[str, Any]]:
        now = time.monotonic()
        return [fault.describe(now) for fault in self.faults]
