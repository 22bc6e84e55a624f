"""Writes lake rows into hive partitions, one Parquet file per partition and chunk.

Every file is written under a hidden temporary name (``.part-...parquet.tmp``, which no
``*.parquet`` glob matches), synced, and renamed into place, so readers never see a partial file.
Within a file rows are sorted by symbol, then time: long runs of one symbol and slowly rising
timestamps are what make the delta and dictionary encodings small.
"""

from __future__ import annotations

import itertools
import os
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from extract.export.files import fsync_path
from extract.export.tables import TableSpec
from extract.export.transform import LakeRows

TEMP_SUFFIX: Final = ".parquet.tmp"
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_DELTA_ENCODED: Final = frozenset(
    {"source_row_id", "ingestion_ts_utc", "event_ts_utc", "exchange_ts_ms", "exchange_ts_utc"}
)
_DICTIONARY_ENCODED: Final = frozenset(
    {
        "source_file",
        "symbol",
        "market_type",
        "exchange_ts_source",
        "source",
        "worker_id",
        "connection_id",
        "event_type",
    }
)


def partition_dir(output_dir: Path, table: str, day: int, exchange_id: str) -> Path:
    date = (_EPOCH + timedelta(days=day)).date().isoformat()
    exchange = urllib.parse.quote(exchange_id, safe="")
    return output_dir / table / f"date={date}" / f"exchange_id={exchange}"


def run_file_glob(table: str, run_id: str) -> str:
    """Glob (relative to the output dir) of every final file one run wrote into a table."""
    return f"{table}/*/*/part-{run_id}-*.parquet"


class PartitionWriter:
    """Writes one run's files; safe to share between the threads exporting different sources."""

    def __init__(self, output_dir: Path, run_id: str) -> None:
        self._output_dir = output_dir
        self._run_id = run_id
        self._numbers = itertools.count()
        self._lock = threading.Lock()

    def _next_name(self) -> str:
        with self._lock:
            return f"part-{self._run_id}-{next(self._numbers)}.parquet"

    def write(self, spec: TableSpec, lake_rows: LakeRows) -> list[Path]:
        """Write the rows into their partitions; returns the final paths of the files."""
        rows = lake_rows.rows
        if rows.num_rows == 0:
            return []
        exchange_codes = pc.dictionary_encode(lake_rows.exchange_id)
        symbol_codes = _sortable_codes(rows["symbol"].combine_chunks())
        time_column = rows.schema.field(2).name  # ingestion_ts_utc / event_ts_utc
        keys = pa.table(
            {
                "exchange": exchange_codes.indices,
                "day": lake_rows.day,
                "symbol": symbol_codes,
                "time": rows[time_column],
                "id": rows["source_row_id"],
            }
        )
        order = pc.sort_indices(keys, sort_keys=[(name, "ascending") for name in keys.column_names])
        rows = rows.take(order)
        exchange_sorted = exchange_codes.indices.take(order)
        day_sorted = lake_rows.day.take(order)
        written = []
        start = 0
        for end in _partition_ends(exchange_sorted, day_sorted):
            exchange_id = exchange_codes.dictionary[exchange_sorted[start].as_py()].as_py()
            directory = partition_dir(
                self._output_dir, spec.name, day_sorted[start].as_py(), exchange_id
            )
            written.append(self._write_file(directory, rows.slice(start, end - start)))
            start = end
        return written

    def _write_file(self, directory: Path, rows: pa.Table) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        final = directory / self._next_name()
        temp = directory / f".{final.stem}{TEMP_SUFFIX}"
        names = set(rows.column_names)
        pq.write_table(
            rows,
            temp,
            compression="zstd",
            use_dictionary=sorted(names & _DICTIONARY_ENCODED),
            column_encoding={name: "DELTA_BINARY_PACKED" for name in names & _DELTA_ENCODED},
            write_statistics=True,
        )
        fsync_path(temp)
        os.replace(temp, final)
        return final


def _sortable_codes(symbols: pa.Array) -> pa.Array:
    """Integer codes that sort like the symbols themselves (nulls last)."""
    encoded = pc.dictionary_encode(symbols)
    rank = pc.rank(encoded.dictionary, sort_keys="ascending", tiebreaker="dense")
    return pc.fill_null(rank.take(encoded.indices), len(encoded.dictionary) + 1)


def _partition_ends(exchange_sorted: pa.Array, day_sorted: pa.Array) -> list[int]:
    """End offsets of the runs of equal (exchange, day) in rows sorted by them."""
    count = len(exchange_sorted)
    exchange_change = pc.not_equal(exchange_sorted.slice(1), exchange_sorted.slice(0, count - 1))
    day_change = pc.not_equal(day_sorted.slice(1), day_sorted.slice(0, count - 1))
    change = pc.or_(exchange_change, day_change)
    starts = pc.indices_nonzero(change).to_pylist()
    return [int(position) + 1 for position in starts] + [count]


def remove_run_files(output_dir: Path, run_id: str, tables: tuple[str, ...]) -> list[Path]:
    """Delete every file (final or temporary) a run wrote into the lake; returns what went."""
    removed = []
    for table in tables:
        patterns = (run_file_glob(table, run_id), f"{table}/*/*/.part-{run_id}-*{TEMP_SUFFIX}")
        for pattern in patterns:
            for path in output_dir.glob(pattern):
                path.unlink(missing_ok=True)
                removed.append(path)
    return removed
