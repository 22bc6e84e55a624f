"""UTC time helpers shared by the collector, the landing writer and the exporter.

Every timestamp the product writes is timezone-aware UTC. Landing text timestamps are ISO-8601
with milliseconds and an explicit offset (``2026-11-21T05:10:01.123+00:00``), the format of the
original system, so its databases and ours read the same way.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def epoch_us_now() -> int:
    """Wall-clock microseconds since the epoch, cheap enough to call per websocket frame."""
    return time.time_ns() // 1_000


def iso_ms_from_epoch_us(epoch_us: int) -> str:
    return datetime.fromtimestamp(epoch_us / 1_000_000, tz=UTC).isoformat(timespec="milliseconds")


def iso_ms_from_epoch_ms(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1_000, tz=UTC).isoformat(timespec="milliseconds")


def parse_utc(text: str) -> datetime:
    """Parse ISO-8601 text (``Z``, ``+00:00`` or naive, taken as UTC) into an aware UTC datetime."""
    parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
