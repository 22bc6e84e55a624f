"""The incremental watermark state (contract ``docs/contracts/staging_export_state.md``).

A watermark is, per source file and table, the last landing row id exported, never a time: a
row committed late (its reception time older than rows already exported) still has a higher id,
so the next run picks it up. Each table's first row is remembered too, to notice a database that
was deleted and recreated (its ids restart).

The state file also journals runs in progress (``pending_runs``): a run is registered before it
writes a file and cleared in the same atomic write that advances its watermarks, so files left
by a run that was killed are known and removed by the next run before it starts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from extract import lockfile
from extract.export.files import write_json_atomic
from extract.export.tables import TableName

CONTRACT_NAME: Final = "staging_export_state"
CONTRACT_VERSION: Final = "1.1.0"


class StateError(Exception):
    """The state file cannot be used; the message names it."""


@dataclass(frozen=True)
class TableWatermark:
    last_id: int
    first_id: int | None = None  # fingerprint of the table's generation: its first row
    first_time_text: str | None = None


@dataclass(frozen=True)
class SourceWatermarks:
    file_name: str
    tables: dict[TableName, TableWatermark] = field(default_factory=dict)


@dataclass(frozen=True)
class Profile:
    """What one state key remembers: its scope, and the watermarks of every source file."""

    input_glob: str
    exchanges: tuple[str, ...]
    assets: tuple[str, ...]
    sources: dict[str, SourceWatermarks]  # keyed by the source file's absolute path
    market_ticks_ingestion_ts_utc: str | None = None
    connection_events_event_ts_utc: str | None = None
    updated_utc: str | None = None


@dataclass(frozen=True)
class PendingRun:
    run_id: str
    started_utc: str
    output_dir: str
    output_format: str
    state_key: str


@dataclass(frozen=True)
class StateDocument:
    profiles: dict[str, Profile]
    pending_runs: dict[str, PendingRun]

    def with_pending(self, run: PendingRun) -> StateDocument:
        return replace(self, pending_runs={**self.pending_runs, run.run_id: run})

    def without_pending(self, run_id: str) -> StateDocument:
        pending = {key: run for key, run in self.pending_runs.items() if key != run_id}
        return replace(self, pending_runs=pending)

    def with_profile(self, key: str, profile: Profile) -> StateDocument:
        return replace(self, profiles={**self.profiles, key: profile})


def default_state_key(
    input_glob: str,
    exchanges: tuple[str, ...],
    assets: tuple[str, ...],
    symbols: tuple[str, ...] = (),
) -> str:
    """A stable key for a source scope: the input glob and the filters (as the original).

    ``symbols`` joins the key only when given, so the keys of runs without it are unchanged.
    """
    descriptor: dict[str, object] = {
        "input_glob": input_glob,
        "exchanges": list(exchanges),
        "assets": list(assets),
    }
    if symbols:
        descriptor["symbols"] = list(symbols)
    encoded = json.dumps(descriptor, separators=(",", ":"), sort_keys=True).encode()
    return f"default_{hashlib.sha256(encoded).hexdigest()[:16]}"


@contextmanager
def exclusive_lock(state_path: Path) -> Iterator[None]:
    """Hold the state's lock file for the whole run: two exports on one state must not overlap."""
    try:
        with lockfile.exclusive_lock(state_path.with_name(f"{state_path.name}.lock")):
            yield
    except lockfile.LockBusy as error:
        raise StateError(f"{state_path}: another export is running with this state file") from error


def load_state(state_path: Path) -> StateDocument:
    if not state_path.exists():
        return StateDocument(profiles={}, pending_runs={})
    try:
        raw = json.loads(state_path.read_text(encoding="utf-8"))
        return _document_from_json(raw)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise StateError(f"{state_path}: unreadable state file ({error!r})") from error


def save_state(state_path: Path, document: StateDocument) -> None:
    write_json_atomic(state_path, _document_to_json(document))


def _document_from_json(raw: Any) -> StateDocument:
    if raw.get("contract_name") != CONTRACT_NAME:
        raise ValueError(f"contract_name is not {CONTRACT_NAME!r}")
    profiles = {key: _profile_from_json(value) for key, value in raw.get("profiles", {}).items()}
    pending = {key: PendingRun(**value) for key, value in raw.get("pending_runs", {}).items()}
    return StateDocument(profiles=profiles, pending_runs=pending)


def _profile_from_json(raw: Any) -> Profile:
    watermark = raw.get("watermark", {})
    return Profile(
        input_glob=raw["source"]["input_glob"],
        exchanges=tuple(raw["filters"]["exchanges"]),
        assets=tuple(raw["filters"]["assets"]),
        sources={
            path: SourceWatermarks(
                file_name=value["file_name"],
                tables={name: TableWatermark(**mark) for name, mark in value["tables"].items()},
            )
            for path, value in raw.get("sources", {}).items()
        },
        market_ticks_ingestion_ts_utc=watermark.get("market_ticks_ingestion_ts_utc"),
        connection_events_event_ts_utc=watermark.get("connection_events_event_ts_utc"),
        updated_utc=raw.get("updated_utc"),
    )


def _document_to_json(document: StateDocument) -> dict[str, Any]:
    return {
        "contract_name": CONTRACT_NAME,
        "contract_version": CONTRACT_VERSION,
        "profiles": {key: _profile_to_json(value) for key, value in document.profiles.items()},
        "pending_runs": {key: vars(run) for key, run in document.pending_runs.items()},
    }


def _profile_to_json(profile: Profile) -> dict[str, Any]:
    return {
        "updated_utc": profile.updated_utc,
        "source": {"input_glob": profile.input_glob},
        "filters": {"exchanges": list(profile.exchanges), "assets": list(profile.assets)},
        "watermark": {
            "market_ticks_ingestion_ts_utc": profile.market_ticks_ingestion_ts_utc,
            "connection_events_event_ts_utc": profile.connection_events_event_ts_utc,
        },
        "sources": {
            path: {
                "file_name": marks.file_name,
                "tables": {name: vars(mark) for name, mark in marks.tables.items()},
            }
            for path, marks in profile.sources.items()
        },
    }
