"""The run metadata document (contract ``docs/contracts/staging_export_run_metadata.md``).

Every field of the original 1.0.0 contract keeps its name and meaning; fields we add (per-source
id watermarks, failures, half-open window bounds) made version 1.1.0; per-table counts of rows
exported with a warning (``row_counts.issues``) make it 1.2.0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from extract.export.listing import Uniques
from extract.export.options import ExportOptions
from extract.export.runner import SourceOutcome
from extract.export.state import Profile, SourceWatermarks
from extract.export.transform import RowIssues

CONTRACT_NAME: Final = "staging_export_run_metadata"
CONTRACT_VERSION: Final = "1.2.0"


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    started: datetime
    finished: datetime
    options: ExportOptions
    sources: list[Path]
    outcomes: list[SourceOutcome]
    previous: Profile | None
    new: Profile | None
    state_updated: bool
    output_files: list[Path]
    exported_uniques: Uniques
    source_uniques: Uniques | None  # None: filtered, and --source-uniques-mode skip


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="milliseconds")


def _id_watermarks(sources: dict[str, SourceWatermarks] | None) -> dict[str, Any]:
    return {
        path: {f"{table}_last_id": mark.last_id for table, mark in marks.tables.items()}
        for path, marks in (sources or {}).items()
    }


def _query_bounds(record: RunRecord, table: str) -> dict[str, Any]:
    window = record.options.window
    bounds: dict[str, Any] = {
        "lower_utc": _iso(window.since),
        "lower_inclusive": True,
        "upper_utc": _iso(window.until or record.started),
        "upper_inclusive": False,
        "id_ranges": {
            str(outcome.path): {
                "after_id": table_outcome.plan.row_filter.after_id,
                "upto_id": table_outcome.plan.row_filter.upto_id,
                "time_window_applied": table_outcome.plan.row_filter.since_text is not None
                or table_outcome.plan.row_filter.until_text is not None,
                "source_recreated": table_outcome.plan.recreated,
            }
            for outcome in record.outcomes
            for table_outcome in outcome.tables
            if table_outcome.plan.spec.name == table
        },
    }
    if table == "connection_events":
        bounds["included"] = record.options.include_connection_events
    return bounds


def _newest(record: RunRecord, table: str) -> str | None:
    times = [
        table_outcome.max_time_iso
        for outcome in record.outcomes
        for table_outcome in outcome.tables
        if table_outcome.plan.spec.name == table and table_outcome.max_time_iso
    ]
    return max(times) if times else None


def build_metadata(record: RunRecord) -> dict[str, Any]:
    options = record.options
    exported, source = record.exported_uniques, record.source_uniques
    previous, new = record.previous, record.new
    return {
        "contract_name": CONTRACT_NAME,
        "contract_version": CONTRACT_VERSION,
        "run_id": record.run_id,
        "run_started_utc": _iso(record.started),
        "run_finished_utc": _iso(record.finished),
        "mode": {"incremental": options.incremental},
        "window": {
            "hours": options.window.hours,
            "default_start_utc": _iso(options.window.since),
            "end_utc": _iso(options.window.until or record.started),
        },
        "query_bounds": {
            "market_ticks": _query_bounds(record, "market_ticks"),
            "connection_events": _query_bounds(record, "connection_events"),
        },
        "source": {
            "input_glob": options.input_glob,
            "worker_db_count": len(record.sources),
            "worker_db_files": [str(path) for path in record.sources],
            "failed_files": [
                {"file": str(o.path), "error": o.error} for o in record.outcomes if o.error
            ],
        },
        "options": {
            "output_format": options.output_format,
            "output_dir": str(options.output_dir),
            "include_connection_events": options.include_connection_events,
            "include_raw_json": options.include_raw_json,
            "chunk_size": options.chunk_rows,
            "workers": options.workers,
            "source_uniques_mode": options.source_uniques_mode,
        },
        "filters": {
            "exchanges": list(options.exchanges),
            "assets": list(options.assets),
            "symbols": list(options.symbols),
        },
        "uniques": {
            "source": None
            if source is None
            else {"exchanges": list(source.exchanges), "assets": list(source.assets)},
            "exported": {"exchanges": list(exported.exchanges), "assets": list(exported.assets)},
        },
        "watermarks": {
            "previous": {
                "market_ticks_ingestion_ts_utc": previous
                and previous.market_ticks_ingestion_ts_utc,
                "connection_events_event_ts_utc": previous
                and previous.connection_events_event_ts_utc,
                "sources": _id_watermarks(previous.sources if previous else None),
            },
            "exported_max": {
                "market_ticks_ingestion_ts_utc": _newest(record, "market_ticks"),
                "connection_events_event_ts_utc": _newest(record, "connection_events"),
            },
            "new": {
                "market_ticks_ingestion_ts_utc": new and new.market_ticks_ingestion_ts_utc,
                "connection_events_event_ts_utc": new and new.connection_events_event_ts_utc,
                "sources": _id_watermarks(new.sources if new else None),
            },
        },
        "state": {
            "path": str(options.state_path),
            "key": options.state_key,
            "update_requested": options.update_state,
            "updated": record.state_updated,
        },
        "row_counts": {
            "market_ticks": sum(o.rows("market_ticks") for o in record.outcomes),
            "connection_events": sum(o.rows("connection_events") for o in record.outcomes),
            "issues": {
                table: asdict(sum((o.issues(table) for o in record.outcomes), RowIssues()))
                for table in ("market_ticks", "connection_events")
            },
            "by_source": {
                str(o.path): {
                    "market_ticks": o.rows("market_ticks"),
                    "connection_events": o.rows("connection_events"),
                }
                for o in record.outcomes
                if not o.error
            },
        },
        "output_files": [str(path) for path in record.output_files],
    }
