"""The original system's single-file staging exports: ``--output-format sqlite|csv|json``.

Files are named as the original named them (``<prefix>_<YYYYMMDD_HHMMSS>_last_<hours>h``) and
hold the original columns as landed, plus ``source_db`` and ``source_row_id``. They are built
under hidden temporary names and renamed into place when the run ends. Sources are written one
after the other; a source that fails midway is rolled back (sqlite) or truncated away (csv, json).
"""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import IO, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from extract.export.options import Window
from extract.export.sinks import ChunkWritten
from extract.export.tables import SelectedColumn, SqlType, TableName, TableSpec, arrow_type
from extract.export.transform import RowIssues, implausible_count, parse_iso_utc, with_valid_text
from extract.landing.schema import ORIGINAL_CONNECTION_EVENT_COLUMNS, ORIGINAL_MARKET_TICK_COLUMNS

_INTEGER_COLUMNS: Final = frozenset({"id", "exchange_ts_ms"})
# Rows turned into Python objects at a time for the sqlite and json outputs: a chunk's Arrow
# columns are compact, its Python objects take ~10 times the memory, so they are made a few
# thousand rows at a time and the peak follows --chunk-size's Arrow size, not its object size.
_PYTHON_ROWS: Final = 4_096
_REAL_COLUMNS: Final = frozenset(
    {"price", "bid", "ask", "last", "open", "high", "low", "base_volume", "quote_volume"}
)


def _sql_type(name: str) -> SqlType:
    if name in _INTEGER_COLUMNS:
        return "integer"
    return "real" if name in _REAL_COLUMNS else "text"


def _legacy_spec(name: TableName, time_column: str, columns: tuple[str, ...]) -> TableSpec:
    selected = tuple(SelectedColumn(c, _sql_type(c), c, needs=(c,)) for c in columns)
    output = [("source_db", pa.string()), ("source_row_id", pa.int64())] + [
        (c, arrow_type(_sql_type(c))) for c in columns[1:]
    ]
    return TableSpec(name, time_column, selected, pa.schema(output))


LEGACY_MARKET_TICKS: Final = _legacy_spec(
    "market_ticks", "ingestion_ts_utc", ORIGINAL_MARKET_TICK_COLUMNS
)
LEGACY_CONNECTION_EVENTS: Final = _legacy_spec(
    "connection_events", "event_ts_utc", ORIGINAL_CONNECTION_EVENT_COLUMNS
)
LEGACY_TABLES: Final = (LEGACY_MARKET_TICKS, LEGACY_CONNECTION_EVENTS)

_SQLITE_DDL: Final = """
CREATE TABLE market_ticks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source_db TEXT NOT NULL, source_row_id INTEGER NOT NULL,
    ingestion_ts_utc TEXT NOT NULL, exchange_id TEXT NOT NULL, symbol TEXT NOT NULL,
    market_type TEXT, price REAL, bid REAL, ask REAL, last REAL, open REAL, high REAL, low REAL,
    base_volume REAL, quote_volume REAL, exchange_ts_ms INTEGER, exchange_ts_utc TEXT,
    raw_json TEXT
);
CREATE INDEX idx_market_ticks_time_ex_symbol ON market_ticks(ingestion_ts_utc, exchange_id, symbol);
CREATE INDEX idx_market_ticks_source ON market_ticks(source_db, source_row_id);
CREATE TABLE connection_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source_db TEXT NOT NULL, source_row_id INTEGER NOT NULL,
    event_ts_utc TEXT NOT NULL, exchange_id TEXT, symbol TEXT, event_type TEXT NOT NULL,
    details_json TEXT
);
CREATE INDEX idx_connection_events_time_ex ON connection_events(event_ts_utc, exchange_id);
CREATE INDEX idx_connection_events_source ON connection_events(source_db, source_row_id);
"""


def _hours_label(hours: float) -> str:
    if float(hours).is_integer():
        return str(int(hours))
    return f"{hours:.3f}".rstrip("0").rstrip(".").replace(".", "p")


def export_base_name(prefix: str, window: Window, started: datetime) -> str:
    """The original's naming; an exact or open window says so instead of ``last_<hours>h``."""
    stamp = started.strftime("%Y%m%d_%H%M%S")
    if window.hours is not None:
        return f"{prefix}_{stamp}_last_{_hours_label(window.hours)}h"
    if window.since is None and window.until is None:
        return f"{prefix}_{stamp}_all"
    since = window.since.strftime("%Y%m%dT%H%M%S") if window.since else "start"
    until = window.until.strftime("%Y%m%dT%H%M%S") if window.until else "now"
    return f"{prefix}_{stamp}_from_{since}_to_{until}"


def _output_rows(spec: TableSpec, path: Path, chunk: pa.Table) -> pa.Table:
    columns = {"source_db": pa.repeat(pa.scalar(str(path)), chunk.num_rows)}
    columns["source_row_id"] = chunk["id"]
    for field in list(spec.lake_schema)[2:]:
        columns[field.name] = chunk[field.name]
    return pa.table(columns, schema=spec.lake_schema)


def _newest_text(rows: pa.Table, time_column: str) -> str | None:
    newest = pc.max(rows[time_column]).as_py()
    return None if newest is None else str(newest)


def _uniques(column: pa.ChunkedArray) -> frozenset[str]:
    return frozenset(value for value in pc.unique(column).to_pylist() if value)


class LegacySink:
    """One sqlite file, or one csv/json file per table, built for the whole run."""

    parallel_sources = False

    def __init__(
        self,
        output_dir: Path,
        base_name: str,
        output_format: str,
        *,
        events: bool,
        clock: datetime,
    ):
        self._specs = LEGACY_TABLES if events else (LEGACY_MARKET_TICKS,)
        self._format = output_format
        self._clock = clock  # the run's start: reception times after it (+10 min) are implausible
        self._finals: dict[str, Path] = {}
        self._temps: dict[str, Path] = {}
        output_dir.mkdir(parents=True, exist_ok=True)
        if output_format == "sqlite":
            names = {"": f"{base_name}.db"}
        else:
            names = {s.name: f"{base_name}_{s.name}.{output_format}" for s in self._specs}
        for key, name in names.items():
            self._finals[key] = output_dir / name
            self._temps[key] = output_dir / f".{name}.tmp"
        self._rows = 0
        self._database: sqlite3.Connection | None = None
        self._files: dict[str, IO[bytes]] = {}
        self._json_first: dict[str, bool] = {}
        self._marks: dict[str, tuple[int, bool]] = {}
        self._open()

    def _open(self) -> None:
        for temp in self._temps.values():
            temp.unlink(missing_ok=True)
        if self._format == "sqlite":
            # used by the one worker thread that exports the sources in turn
            self._database = sqlite3.connect(
                self._temps[""], isolation_level=None, check_same_thread=False
            )
            self._database.executescript(_SQLITE_DDL)
            return
        for name, temp in self._temps.items():
            handle = temp.open("wb")
            self._files[name] = handle
            if self._format == "json":
                handle.write(b"[")
                self._json_first[name] = True
            else:
                spec = next(s for s in self._specs if s.name == name)
                handle.write((",".join(spec.lake_schema.names) + "\n").encode())

    def begin_source(self, path: Path) -> None:
        if self._database is not None:
            self._database.execute("begin")
        for name, handle in self._files.items():
            handle.flush()
            self._marks[name] = (handle.tell(), self._json_first.get(name, False))

    def write(self, spec: TableSpec, path: Path, chunk: pa.Table) -> ChunkWritten:
        chunk, repaired_text = with_valid_text(chunk)
        rows = _output_rows(spec, path, chunk)
        if self._database is not None:
            names = rows.column_names
            insert = (
                f"insert into {spec.name} ({', '.join(names)}) "
                f"values ({', '.join('?' * len(names))})"
            )
            for batch in rows.to_batches(max_chunksize=_PYTHON_ROWS):
                columns = (column.to_pylist() for column in batch.columns)
                self._database.executemany(insert, zip(*columns, strict=True))
        elif self._format == "csv":
            pa_csv.write_csv(
                rows, self._files[spec.name], pa_csv.WriteOptions(include_header=False)
            )
        else:
            self._write_json(spec.name, rows)
        self._rows += rows.num_rows
        return ChunkWritten(
            rows=rows.num_rows,
            max_time_iso=_newest_text(rows, spec.time_column),
            exchanges=_uniques(rows["exchange_id"]),
            symbols=_uniques(rows["symbol"]),
            issues=RowIssues(
                # the time text is exported as it is: only implausible times are worth a warning
                implausible_times=implausible_count(
                    parse_iso_utc(rows[spec.time_column].combine_chunks()), self._clock
                ),
                repaired_text=repaired_text,
            ),
        )

    def _write_json(self, name: str, rows: pa.Table) -> None:
        handle = self._files[name]
        records = (
            record
            for batch in rows.to_batches(max_chunksize=_PYTHON_ROWS)
            for record in batch.to_pylist()
        )
        for record in records:
            handle.write(b"\n" if self._json_first[name] else b",\n")
            handle.write(json.dumps(record, ensure_ascii=True, separators=(",", ":")).encode())
            self._json_first[name] = False

    def commit_source(self, path: Path) -> None:
        if self._database is not None:
            self._database.execute("commit")

    def abort_source(self, path: Path) -> None:
        if self._database is not None:
            self._database.execute("rollback")
        for name, handle in self._files.items():
            position, json_first = self._marks[name]
            handle.flush()
            handle.truncate(position)
            handle.seek(position)
            if name in self._json_first:
                self._json_first[name] = json_first

    def finish(self) -> list[Path]:
        if self._database is not None:
            self._database.close()
        for handle in self._files.values():
            if self._format == "json":
                handle.write(b"\n]\n")
            handle.close()
        if self._rows == 0:
            for temp in self._temps.values():
                temp.unlink(missing_ok=True)
            return []
        for key, temp in self._temps.items():
            os.replace(temp, self._finals[key])
        return sorted(self._finals.values())


def remove_legacy_run_files(output_dir: Path, run_id: str) -> list[Path]:
    """Delete the files (final or temporary) of a legacy run that did not finish."""
    removed = []
    for pattern in (f"{run_id}*", f".{run_id}*.tmp"):
        for path in output_dir.glob(pattern):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
