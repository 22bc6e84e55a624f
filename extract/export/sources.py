"""Landing databases: finding them, opening them read-only, and reading them as Arrow tables.

Sources are never written to and never locked against the collector: connections are read-only
(``mode=ro``), so a collector writing in WAL mode carries on while we read a consistent snapshot.
Bulk reads go through the ADBC SQLite driver, which fills Arrow arrays in C (several times the
speed of stdlib ``sqlite3`` tuples); small metadata queries use stdlib ``sqlite3``.
"""

from __future__ import annotations

import glob
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import adbc_driver_manager
import adbc_driver_sqlite
import pyarrow as pa
import pyarrow.compute as pc

from extract.export.tables import (
    SelectedColumn,
    TableSpec,
    arrow_type,
    select_list,
    selected_columns,
    sentinel_row,
)
from extract.timeutil import parse_utc

BUSY_TIMEOUT_MS: Final = 2_000


class SourceError(Exception):
    """A landing database that cannot be read; the message names the file."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class MixedTypesError(SourceError):
    """A column holds values of another storage class than its type: read again with casts."""


@dataclass(frozen=True)
class TableFingerprint:
    """Identifies one generation of a table: its first row. A recreated database differs here."""

    first_id: int
    first_time_text: str


@dataclass(frozen=True)
class TableSnapshot:
    """What a table holds right now: its columns, its newest committed id, its fingerprint."""

    columns: frozenset[str]
    max_id: int
    fingerprint: TableFingerprint | None

    def has_row(self) -> bool:
        return self.fingerprint is not None


@dataclass(frozen=True)
class RowFilter:
    """Which rows of a table to read: an id range, an optional time window, exchanges, assets,
    symbols."""

    after_id: int
    upto_id: int
    since_text: str | None = None
    until_text: str | None = None
    exchanges: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()  # upper case; matched against the landed symbol, upper-cased


def discover_sources(input_glob: str) -> list[Path]:
    """Regular files matching the glob, sorted, skipping SQLite's own -wal/-shm/-journal files."""
    matches = (Path(match) for match in glob.glob(input_glob, recursive=True))
    return sorted(
        path
        for path in matches
        if path.is_file() and not path.name.endswith(("-wal", "-shm", "-journal"))
    )


def readonly_uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def connect_readonly(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise SourceError(path, "no such file")
    try:
        return sqlite3.connect(readonly_uri(path), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot open: {error}") from error


def _table_columns(connection: sqlite3.Connection, table: str) -> frozenset[str]:
    rows = connection.execute(f"pragma table_info({table})").fetchall()
    return frozenset(str(row[1]) for row in rows)


def snapshot_table(path: Path, spec: TableSpec) -> TableSnapshot | None:
    """The table's current state, or None when the database has no such table."""
    try:
        with closing(connect_readonly(path)) as connection:
            columns = _table_columns(connection, spec.name)
            if not columns:
                return None
            max_id_row = connection.execute(f"select max(id) from {spec.name}").fetchone()
            first = connection.execute(
                f"select id, {spec.time_column} from {spec.name} order by id limit 1"
            ).fetchone()
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read {spec.name}: {error}") from error
    fingerprint = None if first is None else TableFingerprint(int(first[0]), str(first[1]))
    max_id = int(max_id_row[0]) if max_id_row and max_id_row[0] is not None else 0
    return TableSnapshot(columns=columns, max_id=max_id, fingerprint=fingerprint)


def time_text_at(path: Path, spec: TableSpec, row_id: int) -> str | None:
    """The time text of the row with this id, or None when there is no such row (any more)."""
    try:
        with closing(connect_readonly(path)) as connection:
            row = connection.execute(
                f"select {spec.time_column} from {spec.name} where id = ?", (row_id,)
            ).fetchone()
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read {spec.name}: {error}") from error
    return None if row is None else str(row[0])


# A landing row is committed at most this long after its reception (the collector commits every
# second or so). Row ids grow in commit order, so a live row received this long before a
# window's start has an id below which no row can fall inside the window.
COMMIT_LAG_MARGIN: Final = timedelta(hours=1)
_SEARCH_PROBES: Final = 64


def window_floor_id(
    path: Path, spec: TableSpec, columns: frozenset[str], since: datetime, upto_id: int
) -> int:
    """An id at or below which no row of the table was received at or after ``since``.

    Lets a windowed read skip the rows before the window instead of scanning the whole table.
    For any row r below a live row b: received(r) <= committed(r) <= committed(b) <=
    received(b) + COMMIT_LAG_MARGIN, so a b received before ``since - COMMIT_LAG_MARGIN`` is a
    floor. Backfill rows (received long before they are committed) are never used as b; rows
    without a parseable time are not either. A binary search over ids finds a high such b.
    """
    bound = since - COMMIT_LAG_MARGIN
    live_only = " and source in ('ws', 'rest')" if "source" in columns else ""
    floor, low, high = 0, 1, upto_id
    try:
        with closing(connect_readonly(path)) as connection:
            for _ in range(_SEARCH_PROBES):
                if low > high:
                    break
                middle = (low + high) // 2
                row = connection.execute(
                    f"select id, {spec.time_column} from {spec.name} "
                    f"where id >= ? and id <= ?{live_only} order by id limit 1",
                    (middle, high),
                ).fetchone()
                if row is not None and _received_before(row[1], bound):
                    floor, low = int(row[0]), int(row[0]) + 1
                else:
                    high = middle - 1
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read {spec.name}: {error}") from error
    return floor


def _received_before(text: object, bound: datetime) -> bool:
    try:
        return parse_utc(str(text)) < bound
    except ValueError:
        return False


_ASSET_SQL: Final = (
    "upper(case when instr(symbol, '/') > 0 "
    "then substr(symbol, 1, instr(symbol, '/') - 1) else symbol end)"
)


def sql_literal(value: int | str) -> str:
    """An SQLite literal: integers as they are, text quoted (SQLite has no backslash escapes).

    Values are inlined rather than bound because the Arrow reader is driven through ADBC's
    low-level API, which binds only Arrow arrays.
    """
    if isinstance(value, int):
        return str(int(value))
    if "\x00" in value:
        raise ValueError("a filter value contains a NUL character")
    return "'" + value.replace("'", "''") + "'"


def where_clause(spec: TableSpec, row_filter: RowFilter) -> str:
    conditions = [
        f"id > {sql_literal(row_filter.after_id)}",
        f"id <= {sql_literal(row_filter.upto_id)}",
    ]
    if row_filter.since_text is not None:
        conditions.append(f"{spec.time_column} >= {sql_literal(row_filter.since_text)}")
    if row_filter.until_text is not None:
        conditions.append(f"{spec.time_column} < {sql_literal(row_filter.until_text)}")
    if row_filter.exchanges:
        listed = ", ".join(sql_literal(exchange) for exchange in row_filter.exchanges)
        conditions.append(f"lower(exchange_id) in ({listed})")
    if row_filter.assets:
        listed = ", ".join(sql_literal(asset) for asset in row_filter.assets)
        in_assets = f"{_ASSET_SQL} in ({listed})"
        # Connection-level events (no symbol) belong to every asset of their exchange.
        if spec.name == "connection_events":
            in_assets = f"(symbol is null or {in_assets})"
        conditions.append(in_assets)
    if row_filter.symbols:
        listed = ", ".join(sql_literal(symbol) for symbol in row_filter.symbols)
        in_symbols = f"upper(symbol) in ({listed})"
        if spec.name == "connection_events":
            in_symbols = f"(symbol is null or {in_symbols})"
        conditions.append(in_symbols)
    return " and ".join(conditions)


@contextmanager
def _arrow_query(path: Path, sql: str, batch_rows: int) -> Iterator[pa.RecordBatchReader]:
    """Run a query through the ADBC SQLite driver and stream its result as Arrow batches.

    ADBC's low-level API, not its DB-API module: that one imports pandas (seconds at start).
    Batches of ``batch_rows`` (plus the sentinel row) become chunks without a copy.
    """
    with (
        closing(adbc_driver_sqlite.connect(readonly_uri(path))) as database,
        closing(adbc_driver_manager.AdbcConnection(database)) as connection,
    ):
        with closing(adbc_driver_manager.AdbcStatement(connection)) as pragma:
            pragma.set_sql_query(f"pragma busy_timeout = {BUSY_TIMEOUT_MS}")
            stream, _ = pragma.execute_query()
            pa.RecordBatchReader._import_from_c(stream.address).read_all()
        with closing(adbc_driver_manager.AdbcStatement(connection)) as statement:
            statement.set_options(**{"adbc.sqlite.query.batch_rows": str(batch_rows)})
            statement.set_sql_query(sql)
            stream, _ = statement.execute_query()
            with closing(pa.RecordBatchReader._import_from_c(stream.address)) as reader:
                yield reader


def read_table_chunks(
    path: Path,
    spec: TableSpec,
    available: frozenset[str],
    row_filter: RowFilter,
    *,
    with_raw_json: bool,
    chunk_rows: int,
    cast_values: bool = False,
) -> Iterator[pa.Table]:
    """The selected rows in id order, as Arrow tables of about ``chunk_rows`` rows each.

    Every chunk has every column of ``spec.selected`` (but raw_json unless asked for). Raises
    ``MixedTypesError`` (without ``cast_values``) when a column holds a stray value of another
    storage class; chunks already yielded must then be discarded.
    """
    columns = selected_columns(spec, available, with_raw_json=with_raw_json)
    skipped = [
        column
        for column in spec.selected
        if column not in columns and (column.name != "raw_json" or with_raw_json)
    ]
    sql = (
        f"select {sentinel_row(columns)} union all "
        f"select {select_list(columns, available, cast_values=cast_values)} "
        f"from {spec.name} where {where_clause(spec, row_filter)}"
    )
    expected = pa.schema([(c.name, arrow_type(c.sql_type)) for c in columns])
    try:
        with _arrow_query(path, sql, chunk_rows + 1) as reader:
            for chunk in _chunks_without_sentinel(reader, chunk_rows):
                if not chunk.schema.equals(expected):  # the reader widened a column's type
                    raise MixedTypesError(path, f"mixed value types in {spec.name}")
                for column in skipped:
                    chunk = _with_time_text(path, spec, chunk, column)
                yield chunk
    except (adbc_driver_manager.Error, OSError) as error:
        if "type mismatch" in str(error).lower() and not cast_values:
            raise MixedTypesError(path, f"mixed value types in {spec.name}: {error}") from error
        raise SourceError(path, f"cannot read {spec.name}: {error}") from error


def _with_time_text(
    path: Path, spec: TableSpec, chunk: pa.Table, column: SelectedColumn
) -> pa.Table:
    """Add the time-text column, read only for the rows whose epoch time is null.

    Databases the collector upgraded from the original schema have such rows (their older
    ones); one range query per chunk fetches them.
    """
    epoch_column = str(column.time_text_for)
    epoch = chunk[epoch_column]
    if epoch.null_count == 0:
        return chunk.append_column(column.name, pa.nulls(chunk.num_rows, pa.string()))
    null_ids = chunk["id"].filter(pc.is_null(epoch))
    try:
        with closing(connect_readonly(path)) as connection:
            rows = connection.execute(
                f"select id, {spec.time_column} from {spec.name} "
                f"where id between ? and ? and {epoch_column} is null",
                (pc.min(null_ids).as_py(), pc.max(null_ids).as_py()),
            ).fetchall()
    except sqlite3.Error as error:
        raise SourceError(path, f"cannot read {spec.name}: {error}") from error
    texts = dict(rows)
    values = [texts.get(row_id) for row_id in chunk["id"].to_pylist()]
    return chunk.append_column(column.name, pa.array(values, pa.string()))


def _chunks_without_sentinel(reader: pa.RecordBatchReader, chunk_rows: int) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    first = True
    for batch in reader:
        if first:
            if batch.num_rows == 0 or batch.column(0)[0].as_py() != -1:
                raise RuntimeError("the sentinel row did not come first")
            batch = batch.slice(1)
            first = False
        if batch.num_rows == 0:
            continue
        pending.append(batch)
        pending_rows += batch.num_rows
        if pending_rows >= chunk_rows:
            yield pa.Table.from_batches(pending)
            pending, pending_rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)
