"""The sandbox's settings, validated once at start."""

from __future__ import annotations

from dataclasses import dataclass

from extract.sandbox.faults import FaultSpec
from extract.sandbox.market import DEFAULT_COINS
from extract.sandbox.venues import VENUES

DEFAULT_PORT = 8765
DEFAULT_HISTORY_HOURS = 26.0


@dataclass(frozen=True)
class SandboxConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    exchanges: tuple[str, ...] = tuple(VENUES)
    coins: tuple[str, ...] = DEFAULT_COINS
    seed: int = 7
    # multiplies every exchange's ticker update rate (the benchmark turns it up)
    rate_scale: float = 1.0
    # multiplies every exchange's latency (0 sends each update at its event time)
    latency_scale: float = 1.0
    history_hours: float = DEFAULT_HISTORY_HOURS
    # frames a connection may have queued before it is closed as a slow consumer (code 1008),
    # as real exchanges do; large enough for the burst control
    max_queued_frames: int = 200_000
    faults: tuple[FaultSpec, ...] = ()
