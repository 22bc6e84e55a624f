"""Raw landing rows (as read by ``sources``) to lake rows (``docs/contracts/lake.md``).

Also keeps the two partition keys beside each row: the UTC day of its time and its exchange.
Original-system databases lack our extended columns; their values are derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.export.tables import (
    DICTIONARY_COLUMNS,
    MARKET_TICKS,
    RAW_JSON_FIELD,
    TIMESTAMP_UTC,
    TableSpec,
)
from extract.timeutil import parse_utc

NO_EXCHANGE: Final = "__none__"
# The plausible window of reception times, as dbt's staging applies it: the dbt vars
# min_plausible_ts_utc and max_future_ts_minutes (dbt_project.yml) hold the same values, and
# tests/export/test_row_issues.py fails when the two drift apart. Rows outside it are
# exported, warned about here (event=implausible_times) and quarantined by dbt.
MIN_PLAUSIBLE_UTC: Final = datetime(2009, 1, 3, tzinfo=UTC)
MAX_FUTURE: Final = timedelta(minutes=10)


@dataclass(frozen=True)
class RowIssues:
    """Rows exported, but worth a warning: counted per chunk, summed per file and table."""

    unparseable_times: int = 0  # time text that could not be parsed: null time
    implausible_times: int = 0  # a time outside the plausible window
    repaired_text: int = 0  # rows with text that was not valid UTF-8, bad bytes replaced

    def __add__(self, other: RowIssues) -> RowIssues:
        return RowIssues(
            self.unparseable_times + other.unparseable_times,
            self.implausible_times + other.implausible_times,
            self.repaired_text + other.repaired_text,
        )


@dataclass(frozen=True)
class LakeRows:
    """Lake rows plus, per row, its partition keys (UTC day number and exchange id).

    Low-cardinality strings are Arrow dictionaries: sorting moves small integers, not strings,
    the Parquet writer takes the dictionaries as they are, and they list the unique values.
    """

    rows: pa.Table
    day: pa.Array  # int32 days since 1970-01-01; rows with no parseable time go to day 0
    exchange_id: pa.DictionaryArray  # NO_EXCHANGE where the landing row had none
    issues: RowIssues

    def exchanges(self) -> frozenset[str]:
        return frozenset(self.exchange_id.dictionary.to_pylist()) - {NO_EXCHANGE}

    def symbols(self) -> frozenset[str]:
        dictionary = self.rows["symbol"].combine_chunks().dictionary
        return frozenset(symbol for symbol in dictionary.to_pylist() if symbol)


def parse_iso_utc(texts: pa.Array) -> pa.Array:
    """ISO-8601 text to microsecond UTC timestamps; naive text is UTC, garbage becomes null."""
    try:
        return pc.cast(texts, TIMESTAMP_UTC)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([_parse_or_none(text) for text in texts.to_pylist()], TIMESTAMP_UTC)


def _parse_or_none(text: str | None) -> object:
    if text is None:
        return None
    try:
        return parse_utc(text)
    except ValueError:
        return None


def _timestamp(epoch_us: pa.ChunkedArray, text: pa.ChunkedArray) -> pa.Array:
    """The epoch column as a timestamp, filled from the text column where it is null."""
    from_epoch = epoch_us.combine_chunks().cast(TIMESTAMP_UTC)
    if from_epoch.null_count == 0:
        return from_epoch
    return pc.coalesce(from_epoch, parse_iso_utc(text.combine_chunks()))


def with_valid_text(chunk: pa.Table) -> tuple[pa.Table, int]:
    """The chunk with every string column valid UTF-8 (bad bytes replaced by U+FFFD), and the
    number of rows that needed it. SQLite stores whatever bytes it is given; Parquet readers
    refuse invalid UTF-8, so one such value would make a whole lake file unreadable."""
    repaired_rows = np.zeros(chunk.num_rows, dtype=bool)
    for index, field in enumerate(chunk.schema):
        if not pa.types.is_string(field.type):
            continue
        column = chunk.column(index).combine_chunks()
        try:
            column.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        texts: list[str | None] = []
        for row, value in enumerate(column.cast(pa.binary()).to_pylist()):
            if value is None:
                texts.append(None)
                continue
            text = value.decode("utf-8", errors="replace")
            repaired_rows[row] |= text.encode() != value
            texts.append(text)
        chunk = chunk.set_column(index, field, pa.array(texts, pa.string()))
    return chunk, int(repaired_rows.sum())


def implausible_count(times: pa.Array, clock: datetime) -> int:
    """Non-null times before MIN_PLAUSIBLE_UTC or after the export's clock + MAX_FUTURE."""
    outside = pc.or_(
        pc.less(times, pa.scalar(MIN_PLAUSIBLE_UTC, TIMESTAMP_UTC)),
        pc.greater(times, pa.scalar(clock + MAX_FUTURE, TIMESTAMP_UTC)),
    )
    return int(pc.sum(outside).as_py() or 0)


def to_lake_rows(
    spec: TableSpec, raw: pa.Table, source_file: str, *, with_raw_json: bool, clock: datetime
) -> LakeRows:
    """Lake rows of a chunk; ``clock`` (the export run's start) bounds plausible times."""
    raw, repaired_text = with_valid_text(raw)
    if spec is MARKET_TICKS:
        event_time = _timestamp(raw["ingestion_ts_us"], raw["ingestion_ts_text"])
        columns = _market_tick_columns(raw, event_time)
    else:
        event_time = _timestamp(raw["event_ts_us"], raw["event_ts_text"])
        columns = _connection_event_columns(raw, event_time)
    fields = list(spec.lake_schema)
    if with_raw_json and "raw_json" in raw.column_names:
        columns["raw_json"] = raw["raw_json"]
        fields.append(RAW_JSON_FIELD)
    columns["source_file"] = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(raw.num_rows, dtype=np.int32)), pa.array([source_file])
    )
    columns["source_row_id"] = raw["id"]
    columns["worker_id"] = raw["worker_id"].cast(pa.int32())
    columns["connection_id"] = raw["connection_id"]
    for name in DICTIONARY_COLUMNS & columns.keys():
        column = columns[name]
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        if isinstance(column, pa.Array) and pa.types.is_string(column.type):
            columns[name] = pc.dictionary_encode(column)
    rows = pa.table([columns[field.name] for field in fields], names=[f.name for f in fields])
    day = pc.fill_null(event_time.cast(pa.date32()).cast(pa.int32()), 0)
    exchange_id = pc.dictionary_encode(
        pc.fill_null(raw["exchange_id"].combine_chunks(), NO_EXCHANGE)
    )
    issues = RowIssues(
        unparseable_times=event_time.null_count,
        implausible_times=implausible_count(event_time, clock),
        repaired_text=repaired_text,
    )
    return LakeRows(rows, day, exchange_id, issues)


def _market_tick_columns(raw: pa.Table, ingestion_time: pa.Array) -> dict[str, object]:
    exchange_ts_ms = raw["exchange_ts_ms"].combine_chunks()
    # exchange_ts_utc is exchange_ts_ms as a timestamp (the landing text is written from it)
    exchange_time = pc.multiply(exchange_ts_ms, 1_000).cast(TIMESTAMP_UTC)
    exchange_ts_source = raw["exchange_ts_source"].combine_chunks()
    if exchange_ts_source.null_count:
        # Original databases do not say where the exchange time came from: it was the
        # exchange's own when present.
        derived = pc.if_else(pc.is_null(exchange_ts_ms), "missing", "exchange")
        exchange_ts_source = pc.coalesce(exchange_ts_source, derived)
    tick_source = raw["source"].combine_chunks()
    if tick_source.null_count:
        tick_source = pc.fill_null(tick_source, "ws")
    columns: dict[str, object] = {
        name: raw[name]
        for name in (
            "symbol",
            "market_type",
            "price",
            "bid",
            "ask",
            "last",
            "open",
            "high",
            "low",
            "base_volume",
            "quote_volume",
            "exchange_ts_ms",
        )
    }
    columns["ingestion_ts_utc"] = ingestion_time
    columns["exchange_ts_utc"] = exchange_time
    columns["exchange_ts_source"] = exchange_ts_source
    columns["source"] = tick_source
    return columns


def _connection_event_columns(raw: pa.Table, event_time: pa.Array) -> dict[str, object]:
    return {
        "event_ts_utc": event_time,
        "symbol": raw["symbol"],
        "event_type": raw["event_type"],
        "details_json": raw["details_json"],
    }
