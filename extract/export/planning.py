"""Which rows of a source table a run reads, given the previous watermark (if any).

Incremental runs read ``previous last id < id <= newest id now``; the time window only bounds
the first run of a source (or the first after its database was recreated). Reading up to the
newest id seen at the start makes the run's snapshot exact even while the collector commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from extract.export.options import ExportOptions
from extract.export.sources import RowFilter, TableSnapshot, time_text_at, window_floor_id
from extract.export.state import TableWatermark
from extract.export.tables import TableSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TablePlan:
    spec: TableSpec
    columns: frozenset[str]
    row_filter: RowFilter
    previous: TableWatermark | None
    new_watermark: TableWatermark
    recreated: bool  # the database was recreated since the previous watermark: ids restarted

    @property
    def id_span(self) -> int:
        return max(0, self.row_filter.upto_id - self.row_filter.after_id)


def same_generation(
    path: Path, spec: TableSpec, snapshot: TableSnapshot, mark: TableWatermark
) -> bool:
    """Whether the table still is the one the watermark was taken from."""
    if mark.first_id is None:
        return snapshot.max_id >= mark.last_id
    first_text = time_text_at(path, spec, mark.first_id)
    if first_text is None:  # the first row is gone: pruned (ids go on) or recreated (ids restart)
        return snapshot.max_id >= mark.last_id
    return first_text == mark.first_time_text


def plan_table(
    path: Path,
    spec: TableSpec,
    snapshot: TableSnapshot,
    previous: TableWatermark | None,
    options: ExportOptions,
) -> TablePlan:
    recreated = False
    after_id = 0
    windowed = True
    if options.incremental and previous is not None:
        if same_generation(path, spec, snapshot, previous):
            after_id, windowed = previous.last_id, False
        else:
            recreated = True
            log.warning(
                "event=source_recreated file=%s table=%s previous_last_id=%d newest_id=%d "
                "note=ids restarted, exporting the new database from its start of window",
                path,
                spec.name,
                previous.last_id,
                snapshot.max_id,
            )
    window = options.window
    if windowed and window.since is not None:
        after_id = window_floor_id(path, spec, snapshot.columns, window.since, snapshot.max_id)
    row_filter = RowFilter(
        after_id=after_id,
        upto_id=snapshot.max_id,
        since_text=window.since_text if windowed else None,
        until_text=window.until_text if windowed else None,
        exchanges=options.exchanges,
        assets=options.assets,
        symbols=options.symbols,
    )
    fingerprint = snapshot.fingerprint
    keep_old_fingerprint = previous is not None and not recreated and previous.first_id is not None
    new_watermark = TableWatermark(
        last_id=max(after_id, snapshot.max_id),
        first_id=previous.first_id
        if keep_old_fingerprint and previous is not None
        else (fingerprint.first_id if fingerprint else None),
        first_time_text=previous.first_time_text
        if keep_old_fingerprint and previous is not None
        else (fingerprint.first_time_text if fingerprint else None),
    )
    return TablePlan(spec, snapshot.columns, row_filter, previous, new_watermark, recreated)
