"""Where exported rows go: the Parquet lake, or one of the original single-file formats.

A sink sees each source's chunks between ``begin_source`` and ``commit_source`` or
``abort_source``; an aborted source leaves nothing behind, so its watermark can stay put.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from extract.export.lake_writer import PartitionWriter
from extract.export.tables import TableSpec
from extract.export.transform import RowIssues, to_lake_rows


@dataclass(frozen=True)
class ChunkWritten:
    rows: int
    max_time_iso: str | None
    exchanges: frozenset[str]
    symbols: frozenset[str]
    issues: RowIssues = field(default_factory=RowIssues)


class Sink(Protocol):
    parallel_sources: bool

    def begin_source(self, path: Path) -> None: ...

    def write(self, spec: TableSpec, path: Path, chunk: pa.Table) -> ChunkWritten: ...

    def commit_source(self, path: Path) -> None: ...

    def abort_source(self, path: Path) -> None: ...

    def finish(self) -> list[Path]:
        """Close the outputs; returns every file this run created."""
        ...


class LakeSink:
    """Hive-partitioned Parquet; sources are written in parallel, each into its own files."""

    parallel_sources = True

    def __init__(
        self, output_dir: Path, run_id: str, *, include_raw_json: bool, clock: datetime
    ) -> None:
        self._writer = PartitionWriter(output_dir, run_id)
        self._include_raw_json = include_raw_json
        self._clock = clock  # the run's start: reception times after it (+10 min) are implausible
        self._files: dict[Path, list[Path]] = {}
        self._lock = threading.Lock()

    def begin_source(self, path: Path) -> None:
        with self._lock:
            self._files[path] = []

    def write(self, spec: TableSpec, path: Path, chunk: pa.Table) -> ChunkWritten:
        lake_rows = to_lake_rows(
            spec, chunk, path.name, with_raw_json=self._include_raw_json, clock=self._clock
        )
        files = self._writer.write(spec, lake_rows)
        with self._lock:
            self._files[path].extend(files)
        newest = pc.max(lake_rows.rows.column(2)).as_py()
        return ChunkWritten(
            rows=lake_rows.rows.num_rows,
            max_time_iso=None if newest is None else newest.isoformat(timespec="microseconds"),
            exchanges=lake_rows.exchanges(),
            symbols=lake_rows.symbols(),
            issues=lake_rows.issues,
        )

    def commit_source(self, path: Path) -> None:
        pass

    def abort_source(self, path: Path) -> None:
        with self._lock:
            files = self._files.pop(path, [])
        for file in files:
            file.unlink(missing_ok=True)

    def finish(self) -> list[Path]:
        with self._lock:
            return sorted(file for files in self._files.values() for file in files)
