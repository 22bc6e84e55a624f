"""A plain pandas implementation of the grid and the core KPIs, written from the KPI catalog.

Two jobs: the baseline of ``bench/dbt_build.py`` and an independent check of the dbt models'
formulas (tests/dbt compare both on random data). It reads the same Parquet lake
(docs/contracts/lake.md) and follows docs/kpi_catalog.md and docs/contracts/cleansing_core.md
without looking at the SQL. Section names in the docstrings below are the catalog's:

- "Data-quality policy": quarantine, exact duplicates, same-time duplicates, replays, KPI ticks;
- "Time we were watching": collector sessions, watch spans, watch intervals;
- "The grid": watched buckets plus buckets holding a price point, fills, staleness, outliers;
- sections 1 to 5: latency, update frequency, disconnects, aligned and daily price deviation.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as ds

from extract.landing.schema import CONNECTION_EVENT_TYPES

SEED_PATH = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "canonical_assets.csv"
US_PER_S = 1_000_000
DAY_US = 86_400 * US_PER_S
EPOCH_DATE = date(1970, 1, 1)
MIN_PLAUSIBLE_US = 1_230_940_800_000_000  # var min_plausible_ts_utc, 2009-01-03
MAX_FUTURE_US = 10 * 60 * US_PER_S  # var max_future_ts_minutes
MAX_PLAUSIBLE_PRICE = 1e12  # var max_plausible_price
BAR_US = 60 * US_PER_S  # backfilled bars are 1-minute OHLCV candles
LATENCY_LIMIT_MS = 600_000  # var latency_limit_ms
UPDATE_FREQUENCY_LIMIT_HZ = 100  # var update_frequency_limit_hz
PRICE_DIFF_PCT_LIMIT = 200  # var price_diff_pct_limit

LIVE_SOURCES = ("ws", "rest")
KNOWN_SOURCES = (*LIVE_SOURCES, "backfill")
EXCHANGE_TS_SOURCES = ("exchange", "local_fallback", "missing")
EXCHANGE_ID_PATTERN = r"[a-z0-9][a-z0-9_.-]*"
SYMBOL_PATTERN = r"[^/:\s-]+[/-][^/:\s]+(:[^/:\s]+)?"
NO_EXCHANGE = "__none__"
SESSION_END_EVENTS = ("worker_stop", "worker_restart", "worker_failed_permanently")
SPAN_END_EVENTS = ("collector_stop", "exchange_excluded")


LAKE_KEY = ["source_file", "source_row_id"]
MARKET = ["exchange_id", "symbol"]
ALL_SYMBOLS = "*"


@dataclass(frozen=True)
class GridParams:
    """The cleansing parameters (dbt vars of the same names, docs/contracts/cleansing_core.md)."""

    bin_seconds: int = 60
    max_forward_fill_s: int = 300
    fill_method_mode: str = "forward_fill"
    grid_age_reference: str = "bucket_start"
    stale_after_s: int = 90
    dq_outlier_threshold_pct: float = 0.2
    replay_window_s: int = 10


# --- reading the lake --------------------------------------------------------------------------


def read_lake_table(lake_dir: Path, table: str) -> pd.DataFrame:
    """One lake table with its hive partition columns, once per lake key (empty without files).

    For market_ticks the effective price (``price``, else ``last``) is taken in Arrow, where a
    null and a NaN are still different things.
    """
    root = lake_dir / table
    if not any(root.glob("*/*/*.parquet")):
        return pd.DataFrame()
    arrow = ds.dataset(root, format="parquet", partitioning="hive").to_table()
    if table == "market_ticks":
        effective = pc.coalesce(arrow["price"], arrow["last"])
        arrow = arrow.append_column("effective_price", effective)
        arrow = arrow.append_column("effective_price_is_null", pc.is_null(effective))
    frame: pd.DataFrame = arrow.to_pandas()
    partition = frame["exchange_id"]
    frame["exchange_id"] = partition.astype(str).where(partition.notna(), "")
    return frame.drop_duplicates(subset=LAKE_KEY, keep="first").reset_index(drop=True)


def canonical_asset_map(seed_path: Path = SEED_PATH) -> dict[str, str]:
    """The canonical_assets seed: asset code -> canonical asset (XBT -> BTC, ...)."""
    with seed_path.open(newline="") as handle:
        return {row["asset_code"]: row["canonical_asset"] for row in csv.DictReader(handle)}


def _epoch_us(series: pd.Series) -> pd.Series:
    """Microseconds since the epoch, nullable (Int64)."""
    as_utc = pd.to_datetime(series, utc=True)
    values = as_utc.astype("datetime64[us, UTC]").astype("int64")
    return values.where(as_utc.notna()).astype("Int64")


def _as_utc(epoch_us: pd.Series) -> pd.Series:
    """Epoch microseconds (nullable) as a UTC timestamp at microsecond precision."""
    moments = pd.to_datetime(epoch_us.astype("Int64"), unit="us", utc=True)
    return moments.astype("datetime64[us, UTC]")


def _utc_date(epoch_us: pd.Series) -> pd.Series:
    """The UTC calendar day of epoch microseconds (a ``datetime.date``)."""
    days = epoch_us.astype("int64") // DAY_US
    return _per_distinct(days, lambda day: EPOCH_DATE + timedelta(days=int(day)))


def _plausible_time(epoch_us: pd.Series, clock_us: int) -> pd.Series:
    """Conventions / quarantine: within [min_plausible_ts_utc, build clock + 10 min]."""
    inside = (epoch_us >= MIN_PLAUSIBLE_US) & (epoch_us <= clock_us + MAX_FUTURE_US)
    return inside.fillna(False).astype(bool)


def _normalise_symbol(symbol: str, assets: dict[str, str]) -> str:
    """Conventions: ``BASE/QUOTE[:SETTLE]`` with every asset renamed by the seed."""
    main, _, settle = symbol.strip().partition(":")
    separator = "/" if "/" in main else "-"
    base, _, quote = main.partition(separator)
    names = [assets.get(part.strip().upper(), part.strip().upper()) for part in (base, quote)]
    canonical = "/".join(names)
    if settle:
        settle_name = settle.strip().upper()
        canonical += ":" + assets.get(settle_name, settle_name)
    return canonical


# --- Data-quality policy -----------------------------------------------------------------------


def _per_distinct(values: pd.Series, function: Callable[[Any], Any]) -> pd.Series:
    """``function`` of each value, evaluated once per distinct value (nulls passed as None)."""
    codes, distinct = pd.factorize(values)
    null_result = function(None) if (codes < 0).any() else None
    results = [function(value) for value in distinct] + [null_result]
    return pd.Series(np.asarray(results, dtype=object)[codes], index=values.index)


def _trimmed(value: object, lower: bool = False) -> str:
    text = "" if value is None else str(value).strip()
    return text.lower() if lower else text


def _matches(pattern: str) -> Callable[[Any], bool]:
    compiled = re.compile(pattern)
    return lambda value: value is not None and compiled.fullmatch(value) is not None


def _tick_rejection_reason(ticks: pd.DataFrame, clock_us: int) -> pd.Series:
    """Quarantine of market_ticks: the first reason of the catalog's table that applies.

    Expects ``exchange_id`` and ``source`` normalised (trimmed, lower-cased, no source = ws).
    """
    valid_exchange = _per_distinct(ticks["exchange_id"], _matches(EXCHANGE_ID_PATTERN))
    valid_symbol = _per_distinct(
        ticks["symbol_raw"], lambda v: _matches(SYMBOL_PATTERN)(_trimmed(v))
    )
    bad_ts_source = _per_distinct(
        ticks["exchange_ts_source"], lambda v: v is not None and v not in EXCHANGE_TS_SOURCES
    )
    ingestion_us = ticks["ingestion_us"]
    price = ticks["effective_price"].astype("float64")
    finite = np.isfinite(price.to_numpy())
    checks = [
        ("invalid_exchange_id", ~valid_exchange.astype(bool)),
        ("unparseable_symbol", ~valid_symbol.astype(bool)),
        ("unknown_source", ~ticks["source"].isin(KNOWN_SOURCES)),
        ("unknown_exchange_ts_source", bad_ts_source.astype(bool)),
        ("null_ingestion_ts", ingestion_us.isna()),
        ("implausible_ingestion_ts", ~_plausible_time(ingestion_us, clock_us)),
        ("null_price", ticks["effective_price_is_null"]),
        ("non_finite_price", ~finite),
        ("non_positive_price", finite & (price <= 0)),
        ("implausible_price", finite & (price > MAX_PLAUSIBLE_PRICE)),
    ]
    conditions = [np.asarray(condition, dtype=bool) for _, condition in checks]
    reasons = np.select(conditions, [reason for reason, _ in checks], default="")
    return pd.Series(reasons, index=ticks.index).replace("", None)


def usable_ticks(raw: pd.DataFrame, assets: dict[str, str], clock_us: int) -> pd.DataFrame:
    """Data-quality policy: the market_ticks rows that are not quarantined, normalised.

    Adds ``ingestion_us``, ``exchange_us`` (``exchange_ts_ms``, else ``exchange_ts_utc``; null
    when missing or implausible), ``price`` (the effective price), the canonical ``symbol``
    (``symbol_raw`` as landed), the lower-cased ``exchange_id`` and ``source``, ``is_live``.
    """
    ticks = raw.assign(
        ingestion_us=_epoch_us(raw["ingestion_ts_utc"]),
        exchange_id=_per_distinct(raw["exchange_id"], lambda v: _trimmed(v, lower=True)),
        source=_per_distinct(raw["source"], lambda v: _trimmed(v, lower=True) or "ws"),
        symbol_raw=raw["symbol"],
    )
    ticks = ticks[_tick_rejection_reason(ticks, clock_us).isna().to_numpy()].copy()
    exchange_us = ticks["exchange_ts_ms"].astype("Int64") * 1000
    exchange_us = exchange_us.fillna(_epoch_us(ticks["exchange_ts_utc"]))
    ticks["exchange_us"] = exchange_us.where(_plausible_time(exchange_us, clock_us))
    ticks["is_live"] = ticks["source"].isin(LIVE_SOURCES)
    ticks["price"] = ticks["effective_price"].astype("float64")
    ticks["symbol"] = _per_distinct(ticks["symbol_raw"], lambda v: _normalise_symbol(v, assets))
    ticks["ingestion_us"] = ticks["ingestion_us"].astype("int64")
    ticks["market_id"] = ticks.groupby(MARKET, sort=False).ngroup()  # a cheap grouping key
    return ticks.reset_index(drop=True)


def usable_events(raw: pd.DataFrame, clock_us: int) -> pd.DataFrame:
    """Data-quality policy: connection_events that are not quarantined.

    ``exchange_id`` is lower-cased, or None for worker events (partition ``__none__``/empty);
    ``event_us`` is the event time in epoch microseconds.
    """
    columns = ["source_file", "source_row_id", "exchange_id", "event_us", "event_type", "symbol"]
    if raw.empty:
        return pd.DataFrame(columns=columns)
    events = raw.copy()
    exchange = _per_distinct(events["exchange_id"], lambda v: _trimmed(v, lower=True))
    no_exchange = exchange.isin([NO_EXCHANGE, ""])
    valid_exchange = no_exchange | _per_distinct(exchange, _matches(EXCHANGE_ID_PATTERN)).astype(
        bool
    )
    events["event_us"] = _epoch_us(events["event_ts_utc"])
    usable = (
        valid_exchange
        & events["event_us"].notna()
        & _plausible_time(events["event_us"], clock_us)
        & events["event_type"].isin(CONNECTION_EVENT_TYPES)
    )
    events["exchange_id"] = exchange.where(~no_exchange)
    events = events[usable.to_numpy()].copy()
    events["event_us"] = events["event_us"].astype("int64")
    return events[columns].reset_index(drop=True)


def collapse_exact_duplicates(ticks: pd.DataFrame) -> pd.DataFrame:
    """Exact duplicates: same exchange, raw symbol, times and price; the first landed one stays."""
    key = ["exchange_id", "symbol_raw", "ingestion_us", "exchange_us", "price"]
    ordered = ticks.sort_values(LAKE_KEY)
    return ordered.drop_duplicates(subset=key, keep="first").reset_index(drop=True)


def flag_kpi_ticks(ticks: pd.DataFrame, replay_window_s: int) -> pd.DataFrame:
    """Same-time duplicates, replays and ``is_kpi_tick`` (catalog: Usable ticks ... KPI ticks).

    Expects exact duplicates collapsed. Rows come back in (reception time, lake key) order.
    """
    by_key = ticks.sort_values(LAKE_KEY)
    same_time = by_key.duplicated(subset=["market_id", "ingestion_us", "price"], keep="first")
    ticks = by_key.assign(is_same_time_duplicate=same_time)
    ticks = ticks.sort_values(["ingestion_us", *LAKE_KEY]).reset_index(drop=True)
    live = ticks[ticks["is_live"]]
    content = ["market_id", "exchange_us", "price", "bid", "ask"]
    previous_us = live.groupby(content, dropna=False)["ingestion_us"].shift()
    late_by_us = live["ingestion_us"] - previous_us
    replay = (
        live["exchange_us"].notna()
        & previous_us.notna()
        & (late_by_us <= replay_window_s * US_PER_S)
    )
    ticks["is_replay"] = replay.reindex(ticks.index, fill_value=False).astype(bool)
    ticks["is_kpi_tick"] = ticks["is_live"] & ~ticks["is_same_time_duplicate"] & ~ticks["is_replay"]
    return ticks


# --- Time we were watching ---------------------------------------------------------------------


def _landing_rows(ticks: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Every usable row of every landing file: its time, exchange, symbol (live ticks) and kind."""
    tick_rows = pd.DataFrame(
        {
            "source_file": ticks["source_file"],
            "row_us": ticks["ingestion_us"],
            "exchange_id": ticks["exchange_id"],
            "market_symbol": ticks["symbol"].where(ticks["is_live"]),
            "event_type": None,
        }
    )
    event_rows = pd.DataFrame(
        {
            "source_file": events["source_file"],
            "row_us": events["event_us"],
            "exchange_id": events["exchange_id"],
            "market_symbol": None,
            "event_type": events["event_type"],
        }
    )
    rows = pd.concat([tick_rows, event_rows], ignore_index=True)
    rows["row_us"] = rows["row_us"].astype("int64")
    return rows


def _assign_sessions(rows: pd.DataFrame) -> pd.DataFrame:
    """Collector sessions: each row gets ``session_start_us`` (split at ``worker_start``)."""
    parts = []
    for _, file_rows in rows.groupby("source_file", sort=False):
        starts = np.unique(file_rows.loc[file_rows["event_type"] == "worker_start", "row_us"])
        index = np.searchsorted(starts, file_rows["row_us"].to_numpy(), side="right")
        first_row_us = int(file_rows["row_us"].min())
        session_starts = np.concatenate([[first_row_us], starts])
        parts.append(file_rows.assign(session_start_us=session_starts[index]))
    return pd.concat(parts, ignore_index=True)


def collector_sessions(rows: pd.DataFrame) -> pd.DataFrame:
    """Collector sessions (``cln_collector_sessions``): file, session start, session end.

    A session ends at its first worker_stop / worker_restart / worker_failed_permanently event,
    without one at its last usable row.
    """
    session = ["source_file", "session_start_us"]
    last_row = rows.groupby(session)["row_us"].max().rename("last_row_us")
    stops = rows[rows["event_type"].isin(SESSION_END_EVENTS)]
    first_stop = stops.groupby(session)["row_us"].min().rename("stop_us")
    sessions = pd.concat([last_row, first_stop], axis=1)
    sessions["session_end_us"] = sessions["stop_us"].fillna(sessions["last_row_us"])
    sessions["session_end_us"] = sessions["session_end_us"].astype("int64")
    return sessions[["session_end_us"]].reset_index()


def watch_spans(rows: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """Watch spans (``cln_exchange_watch_spans``): per session, exchange and symbol (``*``).

    An exchange is watched with any usable row of it, a market with a usable live tick; the span
    ends at the session end or at the exchange's first collector_stop / exchange_excluded.
    """
    session = ["source_file", "session_start_us"]
    with_exchange = rows[rows["exchange_id"].notna()]
    exchanges = with_exchange[[*session, "exchange_id"]].drop_duplicates()
    exchanges = exchanges.assign(symbol=ALL_SYMBOLS)
    markets = with_exchange[with_exchange["market_symbol"].notna()]
    markets = markets[[*session, "exchange_id", "market_symbol"]].drop_duplicates()
    markets = markets.rename(columns={"market_symbol": "symbol"})
    spans = pd.concat([exchanges, markets], ignore_index=True).merge(sessions, on=session)
    span_stops = with_exchange[with_exchange["event_type"].isin(SPAN_END_EVENTS)]
    first_stop = span_stops.groupby([*session, "exchange_id"])["row_us"].min().rename("stop_us")
    spans = spans.merge(first_stop.reset_index(), on=[*session, "exchange_id"], how="left")
    stop_us = spans["stop_us"].astype("Int64").fillna(spans["session_end_us"])
    spans["watch_start_us"] = spans["session_start_us"]
    spans["watch_end_us"] = np.minimum(spans["session_end_us"], stop_us).astype("int64")
    return spans[[*session, *MARKET, "watch_start_us", "watch_end_us"]]


def watch_intervals(spans: pd.DataFrame) -> pd.DataFrame:
    """Watch intervals (``cln_watch_intervals``): spans merged per exchange and symbol.

    Overlapping or touching spans merge; symbol ``*`` holds the exchange's intervals.
    """
    ordered = spans.sort_values([*MARKET, "watch_start_us", "watch_end_us"])
    reach = ordered.groupby(MARKET)["watch_end_us"].cummax()
    previous_reach = reach.groupby([ordered[c] for c in MARKET]).shift()
    starts_new = previous_reach.isna() | (ordered["watch_start_us"] > previous_reach)
    interval_id = starts_new.cumsum()
    merged = ordered.groupby(interval_id).agg(
        exchange_id=("exchange_id", "first"),
        symbol=("symbol", "first"),
        watch_start_us=("watch_start_us", "min"),
        watch_end_us=("watch_end_us", "max"),
    )
    return merged.reset_index(drop=True)


def compute_watch_intervals(ticks: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Section "Time we were watching" end to end, from usable ticks and usable events."""
    rows = _assign_sessions(_landing_rows(ticks, events))
    return watch_intervals(watch_spans(rows, collector_sessions(rows)))


# --- The grid ----------------------------------------------------------------------------------


def _tick_points(kpi_ticks: pd.DataFrame, bin_us: int) -> pd.DataFrame:
    """KPI ticks as price points: at their reception time, in their reception bucket."""
    return pd.DataFrame(
        {
            "exchange_id": kpi_ticks["exchange_id"],
            "symbol": kpi_ticks["symbol"],
            "bucket": kpi_ticks["ingestion_us"] // bin_us,
            "point_us": kpi_ticks["ingestion_us"],
            "price": kpi_ticks["price"],
            "source_us": kpi_ticks["ingestion_us"],
            "source_file": kpi_ticks["source_file"],
            "source_row_id": kpi_ticks["source_row_id"],
        }
    )


def _bar_points(ticks: pd.DataFrame, bin_us: int) -> pd.DataFrame:
    """Backfilled bars as price points: one per bucket they open in, at their end, their close.

    ``exchange_us`` is the bar's open (null when implausible: ignored); of several bars in one
    bucket the latest end, then the latest fetch, then the highest lake key wins.
    """
    bars = ticks[(ticks["source"] == "backfill") & ticks["exchange_us"].notna()]
    open_us = bars["exchange_us"].astype("int64")
    points = pd.DataFrame(
        {
            "exchange_id": bars["exchange_id"],
            "symbol": bars["symbol"],
            "bucket": open_us // bin_us,
            "point_us": open_us + BAR_US,
            "price": bars["price"],
            "source_us": bars["ingestion_us"],
            "source_file": bars["source_file"],
            "source_row_id": bars["source_row_id"],
        }
    )
    points = points.sort_values([*MARKET, "bucket", "point_us", "source_us", *LAKE_KEY])
    return points.drop_duplicates(subset=[*MARKET, "bucket"], keep="last")


def _observed_buckets(tick_points: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """Observed buckets: KPI tick count, the last tick, and the outlier-return check."""
    ordered = tick_points.sort_values([*MARKET, "point_us", *LAKE_KEY])
    buckets = ordered.groupby([*MARKET, "bucket"]).agg(
        tick_count_in_bin=("price", "size"),
        tick_price=("price", "last"),
        tick_us=("point_us", "last"),
    )
    buckets = buckets.reset_index()
    previous_price = buckets.groupby(MARKET)["tick_price"].shift()
    returns = buckets["tick_price"] / previous_price - 1
    buckets["is_outlier_bucket"] = (returns.abs() > threshold).fillna(False).astype(bool)
    return buckets


def _grid_buckets(intervals: pd.DataFrame, points: pd.DataFrame, bin_us: int) -> pd.DataFrame:
    """Every market bucket overlapping a market watch interval, plus every bucket with a point."""
    markets = intervals[intervals["symbol"] != ALL_SYMBOLS]
    first = markets["watch_start_us"] // bin_us
    last = np.where(
        markets["watch_end_us"] > markets["watch_start_us"],
        (markets["watch_end_us"] - 1) // bin_us,
        first,
    )
    counts = (last - first + 1).to_numpy()
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    watched = pd.DataFrame(
        {
            "exchange_id": np.repeat(markets["exchange_id"].to_numpy(), counts),
            "symbol": np.repeat(markets["symbol"].to_numpy(), counts),
            "bucket": np.repeat(first.to_numpy(), counts) + offsets,
            "is_watched": True,
        }
    ).drop_duplicates(subset=[*MARKET, "bucket"])
    priced = points[[*MARKET, "bucket"]].drop_duplicates()
    buckets = watched.merge(priced, on=[*MARKET, "bucket"], how="outer")
    buckets["is_watched"] = buckets["is_watched"].eq(True)
    return buckets.sort_values([*MARKET, "bucket"]).reset_index(drop=True)


def _neighbour_points(grid: pd.DataFrame, points: pd.DataFrame) -> pd.DataFrame:
    """For each grid bucket, p0 (last point in an earlier bucket) and p1 (first in a later one).

    ``points`` holds no bar of a bucket with KPI ticks (the catalog: live ticks win there).
    """
    ordered = points.sort_values([*MARKET, "point_us", "source_us", *LAKE_KEY])
    per_bucket = ordered.groupby([*MARKET, "bucket"])
    fields = ["point_us", "price", "source_us", "from_outlier"]
    last = per_bucket[fields].last().add_prefix("last_")
    first = per_bucket[fields].first().add_prefix("first_")
    grid = grid.merge(
        pd.concat([last, first], axis=1).reset_index(), on=[*MARKET, "bucket"], how="left"
    )
    market = grid.groupby(MARKET)
    for name in fields:
        grid[f"p0_{name}"] = market[f"last_{name}"].shift()
        grid[f"p1_{name}"] = market[f"first_{name}"].shift(-1)
    market = grid.groupby(MARKET)
    for name in fields:
        grid[f"p0_{name}"] = market[f"p0_{name}"].ffill()
        grid[f"p1_{name}"] = market[f"p1_{name}"].bfill()
    return grid


def _value_buckets(grid: pd.DataFrame, params: GridParams) -> pd.DataFrame:
    """The grid's fill table: observed, backfill, interpolation, forward_fill, missing."""
    bin_us = params.bin_seconds * US_PER_S
    offset = bin_us if params.grid_age_reference == "bucket_end" else 0
    t_us = grid["bucket"] * bin_us + offset
    since_p0_s = (t_us - grid["p0_point_us"]).astype("float64") / US_PER_S
    until_p1_s = (grid["p1_point_us"] - t_us).astype("float64") / US_PER_S
    observed = grid["tick_count_in_bin"].notna().to_numpy()
    backfill = ~observed & grid["bar_price"].notna().to_numpy()
    within_p0 = (since_p0_s <= params.max_forward_fill_s).fillna(False).to_numpy(bool)
    within_p1 = (until_p1_s <= params.max_forward_fill_s).fillna(False).to_numpy(bool)
    interpolate = (
        (params.fill_method_mode == "interpolation") & ~observed & ~backfill & within_p0 & within_p1
    )
    forward = ~observed & ~backfill & ~interpolate & within_p0
    choices = [observed, backfill, interpolate, forward]
    grid["fill_method"] = np.select(
        choices, ["observed", "backfill", "interpolation", "forward_fill"], "missing"
    )
    p0_price, p1_price = grid["p0_price"].astype("float64"), grid["p1_price"].astype("float64")
    span_s = (grid["p1_point_us"] - grid["p0_point_us"]).astype("float64") / US_PER_S
    interpolated = p0_price + (p1_price - p0_price) * since_p0_s / span_s
    grid["price"] = np.select(
        choices, [grid["tick_price"], grid["bar_price"], interpolated, p0_price], np.nan
    )
    observed_age = (t_us - grid["tick_us"]).astype("float64") / US_PER_S
    if params.grid_age_reference != "bucket_end":
        observed_age = pd.Series(0.0, index=grid.index)
    bar_age = ((t_us - grid["bar_us"]).astype("float64") / US_PER_S).clip(lower=0)
    grid["age_seconds"] = np.select(
        choices,
        [observed_age, bar_age, np.minimum(since_p0_s, until_p1_s), since_p0_s],
        np.nan,
    )
    grid["source_us"] = np.select(
        [observed, backfill, forward],
        [grid["tick_us"], grid["bar_source_us"], grid["p0_source_us"]],
        np.nan,
    )
    p0_outlier = grid["p0_from_outlier"].eq(True).to_numpy()
    p1_outlier = grid["p1_from_outlier"].eq(True).to_numpy()
    grid["is_outlier"] = np.select(
        [observed, interpolate, forward],
        [grid["is_outlier_bucket"].eq(True), p0_outlier | p1_outlier, p0_outlier],
        False,
    ).astype(bool)
    return grid


def market_grid(ticks: pd.DataFrame, intervals: pd.DataFrame, params: GridParams) -> pd.DataFrame:
    """The grid (``cln_market_grid``), catalog section "The grid".

    ``ticks`` are the flagged usable ticks (KPI ticks and backfilled bars are used),
    ``intervals`` the watch intervals.
    """
    bin_us = params.bin_seconds * US_PER_S
    tick_points = _tick_points(ticks[ticks["is_kpi_tick"]], bin_us)
    observed = _observed_buckets(tick_points, params.dq_outlier_threshold_pct)
    outlier_buckets = observed.loc[observed["is_outlier_bucket"], [*MARKET, "bucket"]]
    tick_points = tick_points.merge(
        outlier_buckets.assign(from_outlier=True), on=[*MARKET, "bucket"], how="left"
    )
    tick_points["from_outlier"] = tick_points["from_outlier"].eq(True)
    bar_points = _bar_points(ticks, bin_us).assign(from_outlier=False)
    observed_keys = tick_points[[*MARKET, "bucket"]].drop_duplicates()
    bar_points = bar_points.merge(observed_keys, how="left", indicator=True)
    bar_points = bar_points[bar_points.pop("_merge") == "left_only"]
    points = pd.concat([tick_points, bar_points], ignore_index=True)
    grid = _grid_buckets(intervals, points, bin_us)
    grid = grid.merge(observed, on=[*MARKET, "bucket"], how="left")
    bars = bar_points[[*MARKET, "bucket", "point_us", "price", "source_us"]].rename(
        columns={"point_us": "bar_us", "price": "bar_price", "source_us": "bar_source_us"}
    )
    grid = grid.merge(bars, on=[*MARKET, "bucket"], how="left")
    grid = _value_buckets(_neighbour_points(grid, points), params)
    grid["is_missing"] = grid["fill_method"] == "missing"
    grid["is_stale"] = grid["is_missing"] | (grid["age_seconds"] > params.stale_after_s)
    grid["tick_count_in_bin"] = grid["tick_count_in_bin"].fillna(0).astype("int64")
    grid["bucket_start_utc"] = _as_utc(grid["bucket"] * bin_us)
    grid["source_ingestion_ts_utc"] = _as_utc(grid["source_us"])
    return grid[
        [
            "bucket_start_utc",
            "exchange_id",
            "symbol",
            "price",
            "fill_method",
            "source_ingestion_ts_utc",
            "age_seconds",
            "is_stale",
            "is_missing",
            "is_watched",
            "is_outlier",
            "tick_count_in_bin",
        ]
    ]


def _daily_market_rows(result: pd.DataFrame, ticks: pd.DataFrame) -> pd.DataFrame:
    """Aggregates keyed by (UTC day number, ``market_id``) keyed by (kpi_date_utc, market)."""
    labels = ticks.drop_duplicates("market_id").set_index("market_id")[MARKET]
    result = result.reset_index().join(labels, on="market_id")
    result.insert(0, "kpi_date_utc", _utc_date(result["day"] * DAY_US))
    keys = ["kpi_date_utc", *MARKET]
    values = [c for c in result.columns if c not in (*keys, "day", "market_id")]
    return result[[*keys, *values]]


# --- 1. Latency --------------------------------------------------------------------------------


def latency_daily(kpi_ticks: pd.DataFrame) -> pd.DataFrame:
    """Section 1, ``fct_latency_daily``: every market-day with a KPI tick."""
    ticks = kpi_ticks.assign(day=kpi_ticks["ingestion_us"] // DAY_US)
    latency_ms = (ticks["ingestion_us"] - ticks["exchange_us"]).astype("float64") / 1000
    ticks = ticks.assign(
        latency_ms=latency_ms,
        sample_ms=latency_ms.where(latency_ms >= 0),
        negative_ms=latency_ms.where(latency_ms < 0),
        has_no_exchange_ts=ticks["exchange_us"].isna(),
        over_limit=latency_ms > LATENCY_LIMIT_MS,
    )
    grouped = ticks.groupby(["day", "market_id"])
    result = grouped.agg(
        kpi_tick_count=("ingestion_us", "size"),
        latency_sample_count=("sample_ms", "count"),
        avg_latency_ms=("sample_ms", "mean"),
        min_latency_ms=("sample_ms", "min"),
        max_latency_ms=("sample_ms", "max"),
        negative_latency_count=("negative_ms", "count"),
        missing_exchange_ts_count=("has_no_exchange_ts", "sum"),
        latency_over_limit_count=("over_limit", "sum"),
    )
    for name, quantile in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        result[f"{name}_latency_ms"] = grouped["sample_ms"].quantile(quantile)
    result["clock_skew_estimate_ms"] = -grouped["negative_ms"].median()
    return _daily_market_rows(result, ticks)


# --- 2. Update frequency -----------------------------------------------------------------------


def _watch_interval_index(ticks: pd.DataFrame, intervals: pd.DataFrame) -> pd.Series:
    """The exchange watch interval (symbol ``*``) each tick lies in, or -1."""
    exchange_intervals = intervals[intervals["symbol"] == ALL_SYMBOLS].reset_index(drop=True)
    index = pd.Series(-1, index=ticks.index, dtype="int64")
    for exchange_id, group in exchange_intervals.groupby("exchange_id"):
        group = group.sort_values("watch_start_us")
        selected = ticks["exchange_id"] == exchange_id
        moments = ticks.loc[selected, "ingestion_us"].to_numpy()
        position = np.searchsorted(group["watch_start_us"].to_numpy(), moments, side="right") - 1
        ends = group["watch_end_us"].to_numpy()
        inside = (position >= 0) & (moments <= ends[np.maximum(position, 0)])
        labels = group.index.to_numpy()[np.maximum(position, 0)]
        index[selected] = np.where(inside, labels, -1)
    return index


def update_frequency_daily(kpi_ticks: pd.DataFrame, intervals: pd.DataFrame) -> pd.DataFrame:
    """Section 2, ``fct_update_frequency_daily``: gaps within one exchange watch interval."""
    ticks = kpi_ticks.sort_values(["ingestion_us", *LAKE_KEY])
    ticks = ticks.assign(watch_interval=_watch_interval_index(ticks, intervals))
    market = ticks.groupby("market_id")
    gap_s = (ticks["ingestion_us"] - market["ingestion_us"].shift()).astype("float64") / US_PER_S
    same_interval = (ticks["watch_interval"] >= 0) & (
        ticks["watch_interval"] == market["watch_interval"].shift()
    )
    ticks = ticks.assign(
        day=ticks["ingestion_us"] // DAY_US,
        interval_s=gap_s.where((gap_s > 0) & same_interval),
        unobserved=(gap_s > 0) & ~same_interval,
    )
    result = ticks.groupby(["day", "market_id"]).agg(
        interval_count=("interval_s", "count"),
        avg_update_interval_s=("interval_s", "mean"),
        min_update_interval_s=("interval_s", "min"),
        max_update_interval_s=("interval_s", "max"),
        unobserved_interval_count=("unobserved", "sum"),
    )
    result = _daily_market_rows(result[result["interval_count"] > 0], ticks)
    result["update_frequency_hz"] = 1.0 / result["avg_update_interval_s"]
    result["is_over_frequency_limit"] = result["update_frequency_hz"] > UPDATE_FREQUENCY_LIMIT_HZ
    return result


# --- 3. Disconnects ----------------------------------------------------------------------------


def disconnects_daily(events: pd.DataFrame) -> pd.DataFrame:
    """Section 3, ``fct_disconnects_daily``: usable disconnect events per day and exchange."""
    columns = ["kpi_date_utc", "exchange_id", "disconnect_count"]
    disconnects = events[(events["event_type"] == "disconnect") & events["exchange_id"].notna()]
    if disconnects.empty:
        return pd.DataFrame(columns=columns)
    days = _utc_date(disconnects["event_us"])
    counted = disconnects.assign(kpi_date_utc=days).groupby(["kpi_date_utc", "exchange_id"]).size()
    return counted.rename("disconnect_count").reset_index()[columns]


# --- 4. and 5. Price deviation -----------------------------------------------------------------


def _spread(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Count, highest and lowest price per key (ties: highest's exchange alphabetically first,
    lowest's alphabetically last)."""
    highest = rows.sort_values([*keys, "price", "exchange_id"], ascending=[True, True, False, True])
    lowest = rows.sort_values([*keys, "price", "exchange_id"], ascending=[True, True, True, False])
    top = highest.groupby(keys).first()
    bottom = lowest.groupby(keys).first()
    return pd.DataFrame(
        {
            "count": rows.groupby(keys).size(),
            "max_price": top["price"],
            "min_price": bottom["price"],
            "max_exchange_id": top["exchange_id"],
            "min_exchange_id": bottom["exchange_id"],
        }
    )


def price_deviation_aligned(grid: pd.DataFrame) -> pd.DataFrame:
    """Section 4, ``fct_price_deviation_aligned``: comparable rows, filtered and unfiltered.

    ``exchanges_compared`` counts the rows left after the outlier filter (0 or 1 possible);
    with fewer than 2 of them every other filtered figure is null.
    """
    keys = ["bucket_start_utc", "symbol"]
    comparable = grid[grid["price"].notna() & ~grid["is_missing"] & ~grid["is_stale"]]
    everything = _spread(comparable, keys)
    everything = everything[everything["count"] >= 2]
    aligned = pd.DataFrame(
        {
            "unfiltered_exchanges_compared": everything["count"],
            "unfiltered_price_diff_abs": everything["max_price"] - everything["min_price"],
        }
    )
    aligned["unfiltered_price_diff_pct"] = (
        aligned["unfiltered_price_diff_abs"] / everything["min_price"] * 100
    )
    kept = _spread(comparable[~comparable["is_outlier"]], keys)
    aligned["exchanges_compared"] = kept["count"].reindex(aligned.index, fill_value=0)
    aligned = aligned.join(kept[kept["count"] >= 2].drop(columns="count"), how="left")
    aligned["price_diff_abs"] = aligned["max_price"] - aligned["min_price"]
    aligned["price_diff_pct"] = aligned["price_diff_abs"] / aligned["min_price"] * 100
    aligned["exchange_pair"] = aligned["max_exchange_id"] + "|" + aligned["min_exchange_id"]
    outliers = comparable[comparable["is_outlier"]].groupby(keys).size()
    aligned["outlier_rows_excluded"] = outliers.reindex(aligned.index, fill_value=0)
    aligned["is_over_deviation_limit"] = aligned["price_diff_pct"] > PRICE_DIFF_PCT_LIMIT
    return aligned.reset_index()


def price_deviation_daily(aligned: pd.DataFrame) -> pd.DataFrame:
    """Section 5, ``fct_price_deviation_daily``: per UTC day of the bucket start and symbol."""
    keys = ["kpi_date_utc", "symbol"]
    rows = aligned.assign(
        kpi_date_utc=aligned["bucket_start_utc"].dt.date,
        has_outlier=aligned["outlier_rows_excluded"] > 0,
    )
    daily = rows.groupby(keys).agg(
        aligned_points_compared=("price_diff_abs", "count"),
        max_price_diff_abs=("price_diff_abs", "max"),
        max_price_diff_pct=("price_diff_pct", "max"),
        avg_price_diff_abs=("price_diff_abs", "mean"),
        avg_price_diff_pct=("price_diff_pct", "mean"),
        unfiltered_max_price_diff_abs=("unfiltered_price_diff_abs", "max"),
        unfiltered_max_price_diff_pct=("unfiltered_price_diff_pct", "max"),
        outlier_buckets=("has_outlier", "sum"),
        over_deviation_limit_count=("is_over_deviation_limit", "sum"),
    )
    by_size = rows[rows["price_diff_abs"].notna()].sort_values(
        [*keys, "price_diff_abs", "bucket_start_utc"], ascending=[True, True, False, True]
    )
    biggest = by_size.groupby(keys).first()
    daily["max_diff_bucket_start_utc"] = biggest["bucket_start_utc"]
    daily["max_diff_exchange_pair"] = biggest["exchange_pair"]
    return daily.reset_index()


# --- everything --------------------------------------------------------------------------------


def compute_all(
    lake_dir: Path, params: GridParams | None = None, build_clock_us: int | None = None
) -> dict[str, pd.DataFrame]:
    """Every reference output, keyed by the name of the dbt model it mirrors.

    ``build_clock_us`` is the build clock of the quarantine's plausible window (default: now).
    """
    grid_params = params or GridParams()
    clock_us = build_clock_us or pd.Timestamp.now(tz="UTC").value // 1000
    usable = usable_ticks(
        read_lake_table(lake_dir, "market_ticks"), canonical_asset_map(), clock_us
    )
    events = usable_events(read_lake_table(lake_dir, "connection_events"), clock_us)
    intervals = compute_watch_intervals(usable, events)
    ticks = flag_kpi_ticks(collapse_exact_duplicates(usable), grid_params.replay_window_s)
    kpi_ticks = ticks[ticks["is_kpi_tick"]]
    grid = market_grid(ticks, intervals, grid_params)
    aligned = price_deviation_aligned(grid)
    return {
        "fct_latency_daily": latency_daily(kpi_ticks),
        "fct_update_frequency_daily": update_frequency_daily(kpi_ticks, intervals),
        "fct_disconnects_daily": disconnects_daily(events),
        "cln_market_grid": grid,
        "fct_price_deviation_aligned": aligned,
        "fct_price_deviation_daily": price_deviation_daily(aligned),
    }
