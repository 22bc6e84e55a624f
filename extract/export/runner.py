"""One export run over all source files: plan, read, write through a sink, collect outcomes.

Sources are independent: one that cannot be read (corrupt, locked, not a landing database) is
reported with its file name and leaves nothing behind, while the others are exported.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
from tqdm import tqdm

from extract.export.options import ExportOptions
from extract.export.planning import TablePlan, plan_table
from extract.export.sinks import Sink
from extract.export.sources import (
    MixedTypesError,
    SourceError,
    read_table_chunks,
    snapshot_table,
)
from extract.export.state import SourceWatermarks
from extract.export.tables import TableSpec
from extract.export.transform import NO_EXCHANGE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TableOutcome:
    plan: TablePlan
    rows: int
    exchanges: frozenset[str]
    symbols: frozenset[str]
    max_time_iso: str | None
    unparseable_times: int


@dataclass(frozen=True)
class SourceOutcome:
    path: Path
    tables: tuple[TableOutcome, ...]
    error: str | None = None

    def rows(self, table: str) -> int:
        return sum(outcome.rows for outcome in self.tables if outcome.plan.spec.name == table)

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


def _export_table(
    path: Path,
    plan: TablePlan,
    sink: Sink,
    options: ExportOptions,
    advance: Callable[[int], object],
    *,
    cast_values: bool,
) -> TableOutcome:
    rows = unparseable = 0
    exchanges: set[str] = set()
    symbols: set[str] = set()
    newest: str | None = None
    if plan.id_span:
        chunks = read_table_chunks(
            path,
            plan.spec,
            plan.columns,
            plan.row_filter,
            with_raw_json=options.include_raw_json or options.output_format != "parquet",
            chunk_rows=options.chunk_rows,
            cast_values=cast_values,
        )
        for chunk in chunks:
            written = sink.write(plan.spec, path, chunk)
            rows += written.rows
            unparseable += written.unparseable_times
            exchanges.update(v for v in pc.unique(chunk["exchange_id"]).to_pylist() if v)
            symbols.update(v for v in pc.unique(chunk["symbol"]).to_pylist() if v)
            if written.max_time_iso is not None:
                newest = max(newest or written.max_time_iso, written.max_time_iso)
            advance(chunk.num_rows)
    advance(plan.id_span - rows)  # rows the filters skipped
    exchanges.discard(NO_EXCHANGE)
    return TableOutcome(plan, rows, frozenset(exchanges), frozenset(symbols), newest, unparseable)


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
    for outcome in outcomes:
        if outcome.unparseable_times:
            log.warning(
                "event=unparseable_times file=%s table=%s rows=%d note=time set to null, "
                "partitioned under date=1970-01-01",
                path,
                outcome.plan.spec.name,
                outcome.unparseable_times,
            )
    return SourceOutcome(path, outcomes)


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
    total = planned.rows_to_scan
    with tqdm(
        total=total,
        unit=" rows",
        unit_scale=True,
        desc="export",
        file=sys.stderr,
        delay=1.0,
        disable=total == 0,
    ) as progress:
        workers = min(options.workers, len(planned.plans)) if sink.parallel_sources else 1
        with ThreadPoolExecutor(max_workers=max(workers, 1)) as pool:
            futures = {
                path: pool.submit(export_source, path, sink, options, progress.update, plans)
                for path, plans in planned.plans.items()
            }
            for path, future in futures.items():
                outcomes[path] = future.result()
    return [outcomes[path] for path in sources]
