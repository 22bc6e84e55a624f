"""The orchestrator's arithmetic: score exchanges from a profile, bin-pack them onto workers.

``score = bytes_per_sec + 2000 * reconnects_per_min``, at least 1 for an exchange that delivered
data, 0 for one whose profile failed. Exchanges are placed largest score first, each into the
currently lightest worker (ties: the lowest worker id), so heavy feeds spread out.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from extract.collector.config import CollectorConfig
from extract.timeutil import utc_now

RECONNECT_WEIGHT = 2000.0


@dataclass(frozen=True)
class ExchangeProfile:
    exchange_id: str
    seconds: float
    bytes_received: int
    reconnects: int
    ticks: int
    failed: bool
    error: str = ""

    @property
    def bytes_per_sec(self) -> float:
        return self.bytes_received / self.seconds if self.seconds > 0 else 0.0

    @property
    def reconnects_per_min(self) -> float:
        return self.reconnects / (self.seconds / 60) if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class WorkerAssignment:
    worker_id: int
    exchanges: tuple[str, ...]
    load: float
    db_path: str


def score(profile: ExchangeProfile) -> float:
    if profile.failed:
        return 0.0
    return max(1.0, profile.bytes_per_sec + RECONNECT_WEIGHT * profile.reconnects_per_min)


def auto_worker_count(exchange_count: int, max_auto_workers: int) -> int:
    return max(1, min(max_auto_workers, exchange_count, os.cpu_count() or 1))


def bin_pack(scores: Mapping[str, float], workers: int) -> list[list[str]]:
    """Largest score first into the lightest bin; empty bins are dropped."""
    bins: list[list[str]] = [[] for _ in range(max(1, workers))]
    loads = [0.0] * len(bins)
    for exchange_id in sorted(scores, key=lambda name: (-scores[name], name)):
        lightest = min(range(len(bins)), key=lambda index: (loads[index], index))
        bins[lightest].append(exchange_id)
        loads[lightest] += scores[exchange_id]
    return [members for members in bins if members]


def make_plan(scores: Mapping[str, float], config: CollectorConfig) -> list[WorkerAssignment]:
    workers = config.workers or auto_worker_count(len(scores), config.max_auto_workers)
    return [
        WorkerAssignment(
            worker_id=worker_id,
            exchanges=tuple(members),
            load=round(sum(scores[name] for name in members), 3),
            db_path=str(config.worker_db_path(worker_id)),
        )
        for worker_id, members in enumerate(bin_pack(scores, workers))
    ]


def plan_document(
    assignments: Sequence[WorkerAssignment],
    profiles: Mapping[str, ExchangeProfile],
    scores: Mapping[str, float],
    config: CollectorConfig,
) -> dict[str, object]:
    return {
        "created_at_utc": utc_now().isoformat(timespec="milliseconds"),
        "score_formula": "bytes_per_sec + 2000 * reconnects_per_min (min 1; failed profile 0)",
        "profile_seconds": config.profile_seconds,
        "sandbox": config.sandbox or None,
        "workers": [asdict(assignment) for assignment in assignments],
        "exchanges": {
            name: {
                "score": round(scores[name], 3),
                **(
                    {
                        "bytes_per_sec": round(profiles[name].bytes_per_sec, 1),
                        "reconnects_per_min": round(profiles[name].reconnects_per_min, 3),
                        "ticks": profiles[name].ticks,
                        "failed": profiles[name].failed,
                        "error": profiles[name].error,
                    }
                    if name in profiles
                    else {}
                ),
            }
            for name in sorted(scores)
        },
    }


def write_plan(document: Mapping[str, object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
