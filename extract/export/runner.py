"""One export run over all source files: plan, read, write through a sink, collect outcomes.

Sources are independent: one that cannot be read (corrupt, locked, not a landing database) is
reported with its file name and leaves nothing behind, while the others are exported.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from extract.export.listing import Uniques, base_asset
from extract.export.options import ExportOptions
from extract.export.planning import TablePlan, plan_table
from extract.export.progress import progress
from extract.export.sinks import Sink
from extract.export.sources import (
    MixedTypesError,
    RowFilter,
    SourceError,
    read_table_chunks,
    snapshot_table,
)
from extract.export.state import SourceWatermarks
from extract.export.tables import TableSpec
from extract.export.transform import MAX_FUTURE, MIN_PLAUSIBLE_UTC, RowIssues

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableOutcome:
    plan: TablePlan
    rows: int
    exchanges: frozenset[str]
    symbols: frozenset[str]
    max_time_iso: str | None
    issues: RowIssues


@dataclass(frozen=True)
class SourceOutcome:
    path: Path
    tables: tuple[TableOutcome, ...]
    error: str | None = None

    def rows(self, table: str) -> int:
        return sum(outcome.rows for outcome in self.tables if outcome.plan.spec.name == table)

    def issues(self, table: str) -> RowIssues:
        return sum(
            (outcome.issues for outcome in self.tables if outcome.plan.spec.name == table),
            RowIssues(),
        )

    def new_watermarks(self) -> SourceWatermarks:
        return SourceWatermarks(
            file_name=self.path.name,
            tables={outcome.plan.spec.name: outcome.plan.new_watermark for outcome in self.tables},
        )


def plan_source(
    path: Path,
    specs: tuple[TableSpec, ...],
    previous: SourceWatermarks | None,
    options: ExportOptions,
) -> list[TablePlan]:
    plans = []
    for spec in specs:
        if spec.name == "connection_events" and not options.include_connection_events:
            continue
        snapshot = snapshot_table(path, spec)
        if snapshot is None:
            if spec.name == "market_ticks":
                raise SourceError(path, "no market_ticks table: not a landing database")
            continue
        previous_mark = previous.tables.get(spec.name) if previous else None
        plans.append(plan_table(path, spec, snapshot, previous_mark, options))
    return plans


@dataclass(frozen=True)
class SliceOutcome:
    """What one read of an id range of a table wrote."""

    rows: int
    exchanges: frozenset[str]
    symbols: frozenset[str]
    max_time_iso: str | None
    issues: RowIssues


def _export_slice(
    path: Path,
    plan: TablePlan,
    row_filter: RowFilter,
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
    *,
    cast_values: bool,
) -> SliceOutcome:
    rows = 0
    issues = RowIssues()
    exchanges: set[str] = set()
    symbols: set[str] = set()
    newest: str | None = None
    chunks = read_table_chunks(
        path,
        plan.spec,
        plan.columns,
        row_filter,
        with_raw_json=options.include_raw_json or options.output_format != "parquet",
        chunk_rows=options.chunk_rows,
        cast_values=cast_values,
    )
    for chunk in chunks:
        written = sink.write(plan.spec, path, chunk)
        rows += written.rows
        issues += written.issues
        exchanges |= written.exchanges
        symbols |= written.symbols
        if written.max_time_iso is not None:
            newest = max(newest or written.max_time_iso, written.max_time_iso)
        advance(chunk.num_rows)
    advance(row_filter.upto_id - row_filter.after_id - rows)  # rows the filters skipped
    return SliceOutcome(rows, frozenset(exchanges), frozenset(symbols), newest, issues)


def _table_outcome(plan: TablePlan, slices: list[SliceOutcome]) -> TableOutcome:
    times = [piece.max_time_iso for piece in slices if piece.max_time_iso]
    return TableOutcome(
        plan=plan,
        rows=sum(piece.rows for piece in slices),
        exchanges=frozenset().union(*(piece.exchanges for piece in slices)),
        symbols=frozenset().union(*(piece.symbols for piece in slices)),
        max_time_iso=max(times) if times else None,
        issues=sum((piece.issues for piece in slices), RowIssues()),
    )


def id_slices(row_filter: RowFilter, size: int) -> list[RowFilter]:
    """The id range cut into pieces of ``size`` ids, read independently (and in parallel)."""
    return [
        replace(row_filter, after_id=start, upto_id=min(start + size, row_filter.upto_id))
        for start in range(row_filter.after_id, row_filter.upto_id, size)
    ]


def _export_table(
    path: Path,
    plan: TablePlan,
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
    *,
    cast_values: bool,
) -> TableOutcome:
    if not plan.id_span:
        return _table_outcome(plan, [])
    piece = _export_slice(
        path, plan, plan.row_filter, sink, options, advance, cast_values=cast_values
    )
    return _table_outcome(plan, [piece])


def export_source(
    path: Path,
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
    plans: list[TablePlan],
) -> SourceOutcome:
    """Export one source; a failure is an outcome with an error and leaves nothing behind."""
    try:
        try:
            outcomes = _export_source_once(path, sink, options, advance, plans, cast_values=False)
        except MixedTypesError as error:
            log.warning("event=mixed_value_types file=%s note=reading again with casts", path)
            log.debug("mixed value types: %s", error.reason)
            outcomes = _export_source_once(path, sink, options, advance, plans, cast_values=True)
    except SourceError as error:
        log.error("event=source_failed file=%s error=%s", path, error.reason)
        return SourceOutcome(path, (), error=str(error))
    return _logged(SourceOutcome(path, outcomes))


def _logged(outcome: SourceOutcome) -> SourceOutcome:
    for table in outcome.tables:
        issues, name = table.issues, table.plan.spec.name
        if issues.unparseable_times:
            log.warning(
                "event=unparseable_times file=%s table=%s rows=%d note=time set to null, "
                "partitioned under date=1970-01-01",
                outcome.path,
                name,
                issues.unparseable_times,
            )
        if issues.implausible_times:
            log.warning(
                "event=implausible_times file=%s table=%s rows=%d note=time before %s or over "
                "%d min after the export's clock; exported as they are, the warehouse quarantines "
                "them",
                outcome.path,
                name,
                issues.implausible_times,
                MIN_PLAUSIBLE_UTC.date().isoformat(),
                MAX_FUTURE.total_seconds() // 60,
            )
        if issues.repaired_text:
            log.warning(
                "event=invalid_text_repaired file=%s table=%s rows=%d note=bytes that are not "
                "UTF-8 replaced by U+FFFD",
                outcome.path,
                name,
                issues.repaired_text,
            )
    return outcome


def _export_source_once(
    path: Path,
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
    plans: list[TablePlan],
    *,
    cast_values: bool,
) -> tuple[TableOutcome, ...]:
    sink.begin_source(path)
    try:
        outcomes = tuple(
            _export_table(path, plan, sink, options, advance, cast_values=cast_values)
            for plan in plans
        )
    except BaseException:
        sink.abort_source(path)
        raise
    sink.commit_source(path)
    return outcomes


def exported_uniques(outcomes: list[SourceOutcome]) -> Uniques:
    """The exchanges (of both tables) and base assets (of the ticks) of the exported rows."""
    tables = [table for outcome in outcomes for table in outcome.tables]
    return Uniques(
        exchanges=tuple(sorted({e for table in tables for e in table.exchanges})),
        assets=tuple(
            sorted(
                {
                    base_asset(symbol)
                    for table in tables
                    if table.plan.spec.name == "market_ticks"
                    for symbol in table.symbols
                }
            )
        ),
        failures=(),
    )


@dataclass(frozen=True)
class PlannedSources:
    plans: dict[Path, list[TablePlan]]
    failures: dict[Path, SourceOutcome]

    @property
    def rows_to_scan(self) -> int:
        return sum(plan.id_span for plans in self.plans.values() for plan in plans)


def plan_sources(
    sources: list[Path],
    specs: tuple[TableSpec, ...],
    previous: dict[str, SourceWatermarks],
    options: ExportOptions,
) -> PlannedSources:
    """Snapshot every source and decide what to read; unreadable sources become failures."""
    plans: dict[Path, list[TablePlan]] = {}
    failures: dict[Path, SourceOutcome] = {}
    for path in sources:
        try:
            plans[path] = plan_source(path, specs, previous.get(source_key(path)), options)
        except SourceError as error:
            log.error("event=source_failed file=%s error=%s", path, error.reason)
            failures[path] = SourceOutcome(path, (), error=str(error))
    return PlannedSources(plans, failures)


def source_key(path: Path) -> str:
    """How the state names a source file: its absolute path."""
    return str(path.resolve())


def export_planned(
    sources: list[Path],
    planned: PlannedSources,
    sink: Sink,
    options: ExportOptions,
) -> list[SourceOutcome]:
    """Export every planned source; failures are outcomes with an error, never exceptions."""
    outcomes = dict(planned.failures)
    with progress(
        planned.rows_to_scan, enabled=options.progress, interval_s=options.progress_interval_s
    ) as advance:
        if sink.parallel_sources:
            outcomes |= _export_sliced(planned.plans, sink, options, advance)
        else:
            for path, plans in planned.plans.items():
                outcomes[path] = export_source(path, sink, options, advance, plans)
    return [outcomes[path] for path in sources]


def _export_sliced(
    plans_by_source: dict[Path, list[TablePlan]],
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
) -> dict[Path, SourceOutcome]:
    """Every source's id ranges cut into slices, all run by one pool of worker threads.

    Slices keep both cores busy to the end whatever the number and sizes of the sources. A
    source whose slice fails is aborted whole; one whose values need casts runs again with them.
    """
    outcomes: dict[Path, SourceOutcome] = {}
    pending = plans_by_source
    with ThreadPoolExecutor(max_workers=options.workers) as pool:
        for cast_values in (False, True):
            submitted: dict[Path, list[tuple[TablePlan, Future[SliceOutcome]]]] = {}
            for path, plans in pending.items():
                sink.begin_source(path)
                submitted[path] = [
                    (
                        plan,
                        pool.submit(
                            _export_slice,
                            path,
                            plan,
                            piece,
                            sink,
                            options,
                            advance,
                            cast_values=cast_values,
                        ),
                    )
                    for plan in plans
                    for piece in id_slices(plan.row_filter, options.chunk_rows)
                ]
            retry: dict[Path, list[TablePlan]] = {}
            for path, items in submitted.items():
                pieces: dict[int, list[SliceOutcome]] = {id(plan): [] for plan in pending[path]}
                error: SourceError | None = None
                for plan, future in items:
                    try:
                        pieces[id(plan)].append(future.result())
                    except SourceError as failure:
                        if error is None or isinstance(error, MixedTypesError):
                            error = failure
                if error is None:
                    sink.commit_source(path)
                    tables = tuple(_table_outcome(p, pieces[id(p)]) for p in pending[path])
                    outcomes[path] = _logged(SourceOutcome(path, tables))
                    continue
                sink.abort_source(path)
                if isinstance(error, MixedTypesError) and not cast_values:
                    log.warning(
                        "event=mixed_value_types file=%s note=reading again with casts", path
                    )
                    retry[path] = pending[path]
                else:
                    log.error("event=source_failed file=%s error=%s", path, error.reason)
                    outcomes[path] = SourceOutcome(path, (), error=str(error))
            pending = retry
            if not pending:
                break
    return outcomes
