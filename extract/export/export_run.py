"""An export run from start to end, in the order that makes it safe to kill at any point.

1. Take the state lock; remove files left by runs that were killed (the state's journal).
2. Plan every source (snapshot its newest ids). Nothing to read: stop, having written nothing.
3. Journal this run in the state, then write its files (each renamed into place when whole).
4. In one atomic state write: advance the watermarks of the sources that succeeded, and clear
   the journal entry. Then write the run's metadata JSON.

Killed before 4, the next run deletes this run's files and exports the same rows again; after
4, they are committed. Either way each row lands exactly once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from extract.export.files import write_json_atomic
from extract.export.lake_writer import remove_run_files
from extract.export.legacy import (
    LEGACY_TABLES,
    LegacySink,
    export_base_name,
    remove_legacy_run_files,
)
from extract.export.listing import NO_UNIQUES, Uniques, list_uniques
from extract.export.metadata import RunRecord, build_metadata
from extract.export.options import ExportOptions
from extract.export.runner import (
    SourceOutcome,
    export_planned,
    exported_uniques,
    plan_sources,
    source_key,
)
from extract.export.sinks import LakeSink, Sink
from extract.export.sources import discover_sources
from extract.export.state import (
    PendingRun,
    Profile,
    StateDocument,
    exclusive_lock,
    load_state,
    save_state,
)
from extract.export.tables import TABLES, TableSpec
from extract.export.transform import RowIssues
from extract.timeutil import utc_now

log = logging.getLogger(__name__)


class NoSourcesError(Exception):
    """The input glob matched no file."""


@dataclass(frozen=True)
class RunResult:
    run_id: str
    outcomes: list[SourceOutcome]
    output_files: list[Path]
    metadata_path: Path | None
    state_updated: bool
    exported_uniques: Uniques = NO_UNIQUES
    source_uniques: Uniques | None = NO_UNIQUES  # None: filtered, and the scan was skipped

    @property
    def failures(self) -> list[SourceOutcome]:
        return [outcome for outcome in self.outcomes if outcome.error]

    def rows(self, table: str) -> int:
        return sum(outcome.rows(table) for outcome in self.outcomes)

    def issues(self) -> RowIssues:
        """Rows exported with a warning, over every source and table."""
        return sum(
            (outcome.issues(spec.name) for outcome in self.outcomes for spec in TABLES),
            RowIssues(),
        )


def new_run_id(options: ExportOptions, started: datetime) -> str:
    if options.output_format == "parquet":
        return f"{started.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    return export_base_name(options.output_prefix, options.window, started)


def _recover_killed_runs(document: StateDocument, state_path: Path) -> StateDocument:
    for run in list(document.pending_runs.values()):
        output_dir = Path(run.output_dir)
        if run.output_format == "parquet":
            removed = remove_run_files(output_dir, run.run_id, tuple(t.name for t in TABLES))
        else:
            removed = remove_legacy_run_files(output_dir, run.run_id)
        log.warning(
            "event=killed_run_cleaned run_id=%s files_removed=%d note=its rows export again now",
            run.run_id,
            len(removed),
        )
        document = document.without_pending(run.run_id)
        save_state(state_path, document)
    return document


def _make_sink(options: ExportOptions, run_id: str, started: datetime) -> Sink:
    if options.output_format == "parquet":
        return LakeSink(
            options.output_dir, run_id, include_raw_json=options.include_raw_json, clock=started
        )
    return LegacySink(
        options.output_dir,
        run_id,
        options.output_format,
        events=options.include_connection_events,
        clock=started,
    )


def _table_specs(options: ExportOptions) -> tuple[TableSpec, ...]:
    return TABLES if options.output_format == "parquet" else LEGACY_TABLES


def _new_profile(
    previous: Profile | None, options: ExportOptions, outcomes: list[SourceOutcome]
) -> Profile:
    sources = dict(previous.sources) if previous else {}
    for outcome in outcomes:
        if not outcome.error:
            key = source_key(outcome.path)
            new = outcome.new_watermarks()
            kept = sources[key].tables if key in sources else {}
            # a table this run skipped (--skip-connection-events) keeps its watermark
            sources[key] = replace(new, tables={**kept, **new.tables})

    def newest(table: str, old: str | None) -> str | None:
        times = [old] + [
            t.max_time_iso for o in outcomes for t in o.tables if t.plan.spec.name == table
        ]
        present = [time for time in times if time]
        return max(present) if present else None

    return Profile(
        input_glob=options.input_glob,
        exchanges=options.exchanges,
        assets=options.assets,
        sources=sources,
        market_ticks_ingestion_ts_utc=newest(
            "market_ticks", previous.market_ticks_ingestion_ts_utc if previous else None
        ),
        connection_events_event_ts_utc=newest(
            "connection_events", previous.connection_events_event_ts_utc if previous else None
        ),
        updated_utc=utc_now().isoformat(timespec="milliseconds"),
    )


def run_export(options: ExportOptions, started: datetime) -> RunResult:
    sources = discover_sources(options.input_glob)
    if not sources:
        raise NoSourcesError(f"no landing databases match --input-glob {options.input_glob!r}")
    run_id = new_run_id(options, started)
    with exclusive_lock(options.state_path):
        document = _recover_killed_runs(load_state(options.state_path), options.state_path)
        stored = document.profiles.get(options.state_key)
        # read for planning by incremental runs, and merged into by runs that update the state
        previous = stored if options.incremental or options.update_state else None
        previous_marks = stored.sources if stored and options.incremental else {}
        planned = plan_sources(sources, _table_specs(options), previous_marks, options)
        if planned.rows_to_scan == 0:
            outcomes = [planned.failures.get(path) or SourceOutcome(path, ()) for path in sources]
            printed = options.print_unique_exchanges or options.print_unique_assets
            return RunResult(
                run_id,
                outcomes,
                [],
                None,
                state_updated=False,
                source_uniques=_source_uniques(sources, options, NO_UNIQUES) if printed else None,
            )
        pending = PendingRun(
            run_id=run_id,
            started_utc=started.isoformat(timespec="milliseconds"),
            output_dir=str(options.output_dir.resolve()),
            output_format=options.output_format,
            state_key=options.state_key,
        )
        document = document.with_pending(pending)
        save_state(options.state_path, document)
        sink = _make_sink(options, run_id, started)
        outcomes = export_planned(sources, planned, sink, options)
        output_files = sink.finish()
        new_profile = _new_profile(previous, options, outcomes) if options.update_state else None
        if new_profile is not None:
            document = document.with_profile(options.state_key, new_profile)
        save_state(options.state_path, document.without_pending(run_id))
        exported = exported_uniques(outcomes)
        source_uniques = _source_uniques(sources, options, exported)
        record = RunRecord(
            run_id=run_id,
            started=started,
            finished=utc_now(),
            options=options,
            sources=sources,
            outcomes=outcomes,
            previous=previous,
            new=new_profile,
            state_updated=new_profile is not None,
            output_files=output_files,
            exported_uniques=exported,
            source_uniques=source_uniques,
        )
        metadata_path = _metadata_path(options, run_id)
        write_json_atomic(metadata_path, build_metadata(record))
        return RunResult(
            run_id,
            outcomes,
            output_files,
            metadata_path,
            new_profile is not None,
            exported_uniques=exported,
            source_uniques=source_uniques,
        )


def _source_uniques(
    sources: list[Path], options: ExportOptions, exported: Uniques
) -> Uniques | None:
    """Uniques of the unfiltered source window (--source-uniques-mode), or None when unknown.

    ``auto`` scans the sources only when filters narrowed the export: without filters the
    exported rows' uniques are the window's. ``scan`` always scans, ``skip`` never does.
    """
    mode = options.source_uniques_mode
    if mode == "scan" or (mode == "auto" and options.filtered):
        return list_uniques(sources, replace(options, exchanges=(), assets=(), symbols=()))
    return None if options.filtered else exported


def _metadata_path(options: ExportOptions, run_id: str) -> Path:
    if options.output_format == "parquet":
        return options.output_dir / "_runs" / f"{run_id}.json"
    return options.output_dir / f"{run_id}_metadata.json"
