"""The two exported landing tables, declared as data: what to select and what the lake holds.

Each lake column says how to read it from a landing database that has our extended columns and
from an original-system database that lacks some of them (any extended column may be missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import pyarrow as pa

SqlType = Literal["integer", "real", "text"]
TableName = Literal["market_ticks", "connection_events"]

TIMESTAMP_UTC: Final = pa.timestamp("us", tz="UTC")
_ARROW_OF: Final[dict[SqlType, pa.DataType]] = {
    "integer": pa.int64(),
    "real": pa.float64(),
    "text": pa.string(),
}
_SENTINEL_OF: Final[dict[SqlType, str]] = {"integer": "-1", "real": "0.0", "text": "''"}


@dataclass(frozen=True)
class SelectedColumn:
    """One column of the select list: an SQL expression over the landing table, cast to a type.

    ``needs`` names the landing columns the expression reads; when one is missing from a
    database, ``fallback`` (an SQL expression over columns every database has) is used instead.
    """

    name: str
    sql_type: SqlType
    expression: str
    needs: tuple[str, ...] = ()
    fallback: str = "null"
    # The time as text, needed only where the epoch column is missing or null: not selected when
    # the database has the epoch column (the rare null is looked up by id afterwards).
    time_text_for: str | None = None


@dataclass(frozen=True)
class TableSpec:
    name: TableName
    time_column: str  # ISO text column the window filters on and `date` partitions by
    selected: tuple[SelectedColumn, ...]
    lake_schema: pa.Schema


def _col(name: str, sql_type: SqlType) -> SelectedColumn:
    return SelectedColumn(name, sql_type, name, needs=(name,))


_PRICE_COLUMNS: Final = (
    "price",
    "bid",
    "ask",
    "last",
    "open",
    "high",
    "low",
    "base_volume",
    "quote_volume",
)

MARKET_TICKS: Final = TableSpec(
    name="market_ticks",
    time_column="ingestion_ts_utc",
    selected=(
        _col("id", "integer"),
        SelectedColumn("ingestion_ts_us", "integer", "ingestion_ts_us", ("ingestion_ts_us",)),
        # The text is read only where the epoch value is missing (original databases).
        SelectedColumn(
            "ingestion_ts_text", "text", "ingestion_ts_utc", time_text_for="ingestion_ts_us"
        ),
        _col("exchange_id", "text"),
        _col("symbol", "text"),
        _col("market_type", "text"),
        *(_col(name, "real") for name in _PRICE_COLUMNS),
        _col("exchange_ts_ms", "integer"),
        _col("exchange_ts_source", "text"),
        _col("source", "text"),
        _col("worker_id", "integer"),
        _col("connection_id", "text"),
        _col("raw_json", "text"),
    ),
    lake_schema=pa.schema(
        [
            ("source_file", pa.string()),
            ("source_row_id", pa.int64()),
            ("ingestion_ts_utc", TIMESTAMP_UTC),
            ("symbol", pa.string()),
            ("market_type", pa.string()),
            *((name, pa.float64()) for name in _PRICE_COLUMNS),
            ("exchange_ts_ms", pa.int64()),
            ("exchange_ts_utc", TIMESTAMP_UTC),
            ("exchange_ts_source", pa.string()),
            ("source", pa.string()),
            ("worker_id", pa.int32()),
            ("connection_id", pa.string()),
        ]
    ),
)

CONNECTION_EVENTS: Final = TableSpec(
    name="connection_events",
    time_column="event_ts_utc",
    selected=(
        _col("id", "integer"),
        SelectedColumn("event_ts_us", "integer", "event_ts_us", ("event_ts_us",)),
        SelectedColumn("event_ts_text", "text", "event_ts_utc", time_text_for="event_ts_us"),
        _col("exchange_id", "text"),
        _col("symbol", "text"),
        _col("event_type", "text"),
        _col("details_json", "text"),
        _col("worker_id", "integer"),
        _col("connection_id", "text"),
    ),
    lake_schema=pa.schema(
        [
            ("source_file", pa.string()),
            ("source_row_id", pa.int64()),
            ("event_ts_utc", TIMESTAMP_UTC),
            ("symbol", pa.string()),
            ("event_type", pa.string()),
            ("details_json", pa.string()),
            ("worker_id", pa.int32()),
            ("connection_id", pa.string()),
        ]
    ),
)

TABLES: Final = (MARKET_TICKS, CONNECTION_EVENTS)

# Low-cardinality lake columns, held as Arrow dictionaries while exporting and written with
# Parquet dictionary encoding.
DICTIONARY_COLUMNS: Final = frozenset(
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
RAW_JSON_FIELD: Final = pa.field("raw_json", pa.string())


def arrow_type(sql_type: SqlType) -> pa.DataType:
    return _ARROW_OF[sql_type]


def selected_columns(
    spec: TableSpec, available: frozenset[str], *, with_raw_json: bool
) -> tuple[SelectedColumn, ...]:
    """The columns worth reading from one database, given the columns its table has."""
    return tuple(
        column
        for column in spec.selected
        if not (column.name == "raw_json" and not with_raw_json)
        and not (column.time_text_for is not None and column.time_text_for in available)
    )


def select_list(
    columns: tuple[SelectedColumn, ...], available: frozenset[str], *, cast_values: bool
) -> str:
    """The select list over a table with the ``available`` columns.

    Column affinity already stores every sane value in its declared type, so the fast path reads
    values as they are. A value of another storage class (text in a REAL column) would change an
    Arrow column's type mid-stream; with ``cast_values`` every value is cast (about 30% slower)
    and a non-numeric value in a numeric column is read as null, which the warehouse flags.
    """
    parts = []
    for column in columns:
        if all(needed in available for needed in column.needs):
            expression = column.expression
        else:
            expression = column.fallback
        if cast_values and column.sql_type == "text":
            expression = f"cast({expression} as text)"
        elif cast_values:  # a non-numeric value in a numeric column becomes null, not 0
            expression = (
                f"case when typeof({expression}) in ('integer', 'real') "
                f"then cast({expression} as {column.sql_type}) end"
            )
        parts.append(f"{expression} as {column.name}")
    return ", ".join(parts)


def sentinel_row(columns: tuple[SelectedColumn, ...]) -> str:
    """A first row with a non-null value of every column's type.

    The Arrow reader infers each column's type from the first rows it sees; leading nulls would
    make it guess wrong. The sentinel (id -1, never a real row id) is dropped after reading.
    """
    return ", ".join(f"{_SENTINEL_OF[c.sql_type]} as {c.name}" for c in columns)
