"""A lake shaped like the original system's real load, generated straight to Parquet by DuckDB.

The original collector landed about 150 million ticks a day from 17 exchanges. This writes the
same shape at any volume: 17 exchanges x ``symbols_per_exchange`` markets, rates spread like a real
market's (a log-normal weight per market, so a few markets carry most ticks), bursty within each
hour (30 % of a market's ticks fall in one 40-second burst), a 20-minute gap in every hour for
one market in twenty, 0.1 % exact duplicates, latencies between 20 and 220 ms, and per window one
``worker_start`` and one ``connected`` event per exchange. Files land in the lake layout of
docs/contracts/lake.md (``date=/exchange_id=/part-<run_id>-<uuid>.parquet``), one worker file per
exchange, so `dbt build` reads them like an export's. Nothing goes through Python rows:
generating 150 million ticks takes about as long as DuckDB needs to write them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from extract.landing.schema import LANDING_DDL, MARKET_TICKS

EXCHANGES = (
    "binance", "kraken", "okx", "coinbase", "bybit", "bitfinex", "bitstamp", "gateio", "kucoin",
    "htx", "mexc", "bitget", "cryptocom", "gemini", "bitmart", "poloniex", "upbit",
)  # fmt: skip
SEED_TICKS_PER_DAY = 150_000_000


@dataclass(frozen=True)
class SeedLakeSpec:
    """``ticks_per_day`` spread over ``symbols_per_exchange`` markets on each of the 17
    exchanges; ``hours`` of it from ``start_utc`` (a whole hour) written as export run
    ``run_id``."""

    start_utc: datetime
    hours: float
    ticks_per_day: int = SEED_TICKS_PER_DAY
    symbols_per_exchange: int = 300
    seed: float = 0.42
    run_id: str = "seed"


def _tick_uniform(draw: int) -> str:
    """A uniform draw in [0, 1) that depends only on the tick (market_id, k) and ``draw``: the
    ``ticks`` view is evaluated more than once (the duplicates are sampled from it again), so its
    values must not come from random()."""
    return f"((hash(market_id, k, {draw}, seed) >> 11) / 9007199254740992.0)"


def _seed_connection(spec: SeedLakeSpec, threads: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection holding the window's ``markets`` table and ``ticks`` view (the lake
    columns); the caller closes it."""
    start_us = round(spec.start_utc.timestamp() * 1_000_000)
    span_us = round(spec.hours * 3_600_000_000)
    window_ticks = round(spec.ticks_per_day * spec.hours / 24)
    connection = duckdb.connect()
    try:
        connection.execute(
            f"set threads = {threads}; set preserve_insertion_order = false;"
            " set enable_progress_bar = false"
        )
        connection.execute("select setseed(?)", [spec.seed])
        connection.execute(
            """
            create temp table markets as
            select
                row_number() over () as market_id,
                exchange_index,
                exchanges[exchange_index] as exchange_id,
                symbol_index,
                case symbol_index
                    when 1 then 'BTC/USDT' when 2 then 'ETH/USDT' when 3 then 'BTC/USD'
                    else 'S' || lpad(cast(symbol_index as varchar), 3, '0') || '/USDT'
                end as symbol,
                case symbol_index when 1 then 60000.0 when 2 then 3000.0 when 3 then 60000.0
                    else 0.05 + 500 * pow((hash(symbol_index) % 1000000) / 1e6, 3) end
                    as base_price,
                exp(1.2 * sqrt(-2 * ln(random())) * cos(2 * pi() * random())) as weight,
                random() * 3600 as burst_s,
                (hash(symbol_index) % 6283) / 1000.0 as phase
            from (select unnest(range(1, len($exchanges) + 1)) as exchange_index)
            cross join (select unnest(range(1, $symbols + 1)) as symbol_index)
            cross join (select $exchanges as exchanges)
            """,
            {"exchanges": list(EXCHANGES), "symbols": spec.symbols_per_exchange},
        )
        connection.execute(
            """
            create temp table market_counts as
            select
                *,
                cast(round(weight / sum(weight) over () * $ticks) as bigint) as tick_count,
                cast($seed as double) as seed
            from markets
            """,
            {"ticks": window_ticks, "seed": spec.seed},
        )
        connection.execute(
            f"""
            create temp view ticks as
            with raw as (
                select
                    market_id, exchange_index, exchange_id, symbol, base_price, burst_s, phase,
                    k, seed,
                    case
                        when {_tick_uniform(1)} < 0.3
                            then {start_us}
                            + cast(floor({_tick_uniform(2)} * {span_us} / 3600e6) as bigint)
                            * 3600000000
                            + cast(burst_s * 1e6 + {_tick_uniform(3)} * 40e6 as bigint)
                        else {start_us} + cast({_tick_uniform(4)} * {span_us} as bigint)
                    end as ingestion_us
                from (select *, unnest(range(tick_count)) as k from market_counts)
            ),
            kept as (
                select * from raw
                where
                    ingestion_us < {start_us + span_us}
                    and not (
                        market_id % 20 = 0
                        and (ingestion_us // 60000000) % 60 between market_id % 40
                        and market_id % 40 + 19
                    )
            ),
            priced as (
                select
                    *,
                    base_price * exp(
                        0.02 * sin(ingestion_us / 3.6e9 + phase)
                        + 0.0005 * exchange_index
                        + 0.0004 * ({_tick_uniform(5)} - 0.5)
                    ) as price,
                    cast(20 + 200 * pow({_tick_uniform(6)}, 3) as bigint) as latency_ms
                from kept
            )
            select
                'worker_' || exchange_index || '_{spec.run_id}.sqlite' as source_file,
                ({start_us} // 3600000000) * 10000000000000 + market_id * 100000000 + k
                    as source_row_id,
                make_timestamptz(ingestion_us) as ingestion_ts_utc,
                symbol,
                'spot' as market_type,
                price,
                price * 0.9999 as bid,
                price * 1.0001 as ask,
                price as last,
                cast(null as double) as open,
                cast(null as double) as high,
                cast(null as double) as low,
                1000.0 as base_volume,
                1000.0 * price as quote_volume,
                ingestion_us // 1000 - latency_ms as exchange_ts_ms,
                make_timestamptz((ingestion_us // 1000 - latency_ms) * 1000) as exchange_ts_utc,
                'exchange' as exchange_ts_source,
                'ws' as source,
                cast(exchange_index as integer) as worker_id,
                cast(null as varchar) as connection_id,
                cast(make_timestamptz(ingestion_us) as date) as date,
                exchange_id
            from priced
            """
        )
    except BaseException:
        connection.close()
        raise
    return connection


def write_seed_lake(lake_dir: Path, spec: SeedLakeSpec, threads: int = 2) -> int:
    """Write the window's ticks and events; return the number of tick rows written."""
    start_us = round(spec.start_utc.timestamp() * 1_000_000)
    ticks_dir = lake_dir / "market_ticks"
    events_dir = lake_dir / "connection_events"
    lake_dir.mkdir(parents=True, exist_ok=True)
    connection = _seed_connection(spec, threads)
    try:
        written = connection.execute(
            f"""
            copy (
                select * from ticks
                union all
                select * replace (source_row_id + 5000000000000 as source_row_id)
                from ticks using sample 0.1 percent (bernoulli)
            ) to '{ticks_dir}' (
                format parquet, partition_by (date, exchange_id), compression zstd,
                filename_pattern 'part-{spec.run_id}-{{uuid}}', append true
            )
            """
        ).fetchone()
        connection.execute(
            f"""
            copy (
                select
                    'worker_' || exchange_index || '_{spec.run_id}.sqlite' as source_file,
                    cast(event_number as bigint) as source_row_id,
                    make_timestamptz({start_us} + event_number) as event_ts_utc,
                    cast(null as varchar) as symbol,
                    event_type,
                    '{{}}' as details_json,
                    cast(exchange_index as integer) as worker_id,
                    cast(null as varchar) as connection_id,
                    cast(make_timestamptz({start_us}) as date) as date,
                    case when event_number = 1 then '__none__' else exchange_id end
                        as exchange_id
                from (select distinct exchange_index, exchange_id from markets)
                cross join (
                    select 1 as event_number, 'worker_start' as event_type
                    union all
                    select 2, 'connected'
                )
            ) to '{events_dir}' (
                format parquet, partition_by (date, exchange_id), compression zstd,
                filename_pattern 'part-{spec.run_id}-{{uuid}}', append true
            )
            """
        )
    finally:
        connection.close()
    return int(written[0]) if written else 0


# The landing columns the collector writes, in LANDING_DDL's order (``id`` is SQLite's own).
_LANDING_TICK_SELECT = """
    select
        strftime(ingestion_ts_utc at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%g+00:00'),
        exchange_id, symbol, market_type, price, bid, ask, last, open, high, low,
        cast(base_volume as double), cast(quote_volume as double), exchange_ts_ms,
        strftime(exchange_ts_utc at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%g+00:00'),
        '{"e":"24hrTicker","E":' || exchange_ts_ms || ',"s":"' || replace(symbol, '/', '')
            || '","c":"' || price || '","b":"' || bid || '","a":"' || ask
            || '","v":"1000.0","q":"' || quote_volume || '"}',
        epoch_us(ingestion_ts_utc), exchange_ts_source, source, worker_id, connection_id
    from ticks
    where worker_id = $worker
"""


def write_seed_landing(landing_dir: Path, spec: SeedLakeSpec, threads: int = 2) -> int:
    """Write the window as the collector lands it: one SQLite landing database per exchange
    worker (``worker_<n>_<run_id>.sqlite``, the landing schema), each tick with a raw JSON frame
    of a binance ticker's size. Return the number of ticks written."""
    landing_dir.mkdir(parents=True, exist_ok=True)
    columns = [c.name for c in MARKET_TICKS if c.name != "id"]
    insert = (
        f"insert into market_ticks ({', '.join(columns)}) "
        f"values ({', '.join('?' for _ in columns)})"
    )
    written = 0
    connection = _seed_connection(spec, threads)
    try:
        for worker in range(1, len(EXCHANGES) + 1):
            landing = sqlite3.connect(landing_dir / f"worker_{worker}_{spec.run_id}.sqlite")
            try:
                landing.executescript(LANDING_DDL)
                rows = connection.execute(_LANDING_TICK_SELECT, {"worker": worker})
                while batch := rows.fetchmany(50_000):
                    landing.executemany(insert, batch)
                    written += len(batch)
                landing.commit()
            finally:
                landing.close()
    finally:
        connection.close()
    return written
