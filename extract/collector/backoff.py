"""The one backoff policy: how long to wait before retry number ``n`` of anything that failed.

``delay = min(base_s * 2^(n - 1), max_s)`` for ``n = 1, 2, ...``, and never less than what the
server asked for with ``Retry-After`` (capped at ``max_s`` too, so a hostile or broken header
cannot park a retry for hours). Worker restarts, reconnects, backfill retries and failed landing
commits all wait this way; each caller keeps its own count ``n`` and resets it as it sees fit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# 2^62 s is far beyond any max_s; bounding the exponent keeps the float finite.
_MAX_EXPONENT = 62


@dataclass(frozen=True)
class Backoff:
    base_s: float
    max_s: float

    def delay_s(self, attempt: int, retry_after_s: float | None = None) -> float:
        """Delay before retry number ``attempt`` (1-based), at least ``retry_after_s``."""
        exponent = min(max(0, attempt - 1), _MAX_EXPONENT)
        delay = min(self.base_s * 2.0**exponent, self.max_s)
        if retry_after_s is not None and retry_after_s > 0:
            delay = max(delay, min(retry_after_s, self.max_s))
        return float(delay)


def retry_after_s(exchange: Any) -> float | None:
    """The wait a ccxt exchange was last asked for: the REST ``Retry-After`` header (seconds) or
    a websocket client's ``last_retry_after``; None when neither is there."""
    candidates: list[Any] = []
    headers = getattr(exchange, "last_response_headers", None)
    if isinstance(headers, Mapping):
        candidates.append(headers.get("Retry-After") or headers.get("retry-after"))
    for client in (getattr(exchange, "clients", None) or {}).values():
        candidates.append(getattr(client, "last_retry_after", None))
    values = []
    for candidate in candidates:
        try:
            values.append(float(candidate))
        except (TypeError, ValueError):
            continue
    return max(values) if values else None
