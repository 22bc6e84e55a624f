"""A plain pandas implementation of the grid and the core KPIs, written from the KPI catalog.

Two jobs: the baseline of ``bench/dbt_build.py`` and an independent check of the dbt models'
formulas (tests/dbt compare both on random data). It reads the same Parquet lake
(docs/contracts/lake.md) and follows docs/kpi_catalog.md and docs/contracts/cleansing_core.md
without looking at the SQL: rows the data-quality policy quarantines (unusable price or reception
time) are left out, exact duplicates are dropped, symbols normalised through the
canonical_assets seed, live ticks (ws, rest) feed latency, update frequency and the grid;
backfilled 1-minute bars (source backfill) fill grid buckets that have no live tick.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds

SEED_PATH = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "canonical_assets.csv"
MIN_PLAUSIBLE_US = 1_230_940_800_000_000  # 2009-01-03
MAX_PLAUSIBLE_US = 4_102_444_800_000_000  # 2100-01-01
MAX_PLAUSIBLE_PRICE = 1e12  # dbt var max_plausible_price
MAX_FUTURE_US = 10 * 60 * 1_000_000  # dbt var max_future_ts_minutes
US_PER_S = 1_000_000
BAR_US = 60 * US_PER_S  # backfilled bars are 1-minute OHLCV candles
LIVE_SOURCES = ("ws", "rest")


@dataclass(frozen=True)
class GridParams:
    """The original cleansing parameters (dbt vars of the same names)."""

    bin_seconds: int = 60
    max_forward_fill_s: int = 300
    fill_method_mode: str = "forward_fill"
    stale_after_s: int = 90


def read_lake_table(lake_dir: Path, table: str) -> pd.DataFrame:
    """One lake table with its hive partition columns, or an empty frame if it has no files."""
    root = lake_dir / table
    if not any(root.glob("*/*/*.parquet")):
        return pd.DataFrame()
    dataset = ds.dataset(root, format="parquet", partitioning="hive")
    frame: pd.DataFrame = dataset.to_table().to_pandas()
    frame["exchange_id"] = frame["exchange_id"].astype(str)
    return frame


def canonical_asset_map(seed_path: Path = SEED_PATH) -> dict[str, str]:
    with seed_path.open(newline="") as handle:
        return {row["asset_code"]: row["canonical_asset"] for row in csv.DictReader(handle)}


def _epoch_us(series: pd.Series) -> pd.Series:
    """Microseconds since the epoch, nullable (Int64)."""
    as_utc = pd.to_datetime(series, utc=True)
    values = as_utc.astype("datetime64[us, UTC]").astype("int64")
    return values.where(as_utc.notna()).astype("Int64")


def _normalise_symbol(symbol: str | None, assets: dict[str, str]) -> str | None:
    if symbol is None:
        return None
    main, _, settle = symbol.partition(":")
    separator = "/" if "/" in main else "-"
    base, _, quote = main.partition(separator)
    base = assets.get(base.strip().upper(), base.strip().upper())
    if not quote:
        return base
    quote = assets.get(quote.strip().upper(), quote.strip().upper())
    return f"{base}/{quote}" + (f":{settle}" if settle else "")


def stage_rows(raw: pd.DataFrame, assets: dict[str, str]) -> pd.DataFrame:
    """Usable landed rows, exact duplicates dropped, symbols canonical, times as epoch us."""
    ticks = raw.copy()
    ticks["ingestion_us"] = _epoch_us(ticks["ingestion_ts_utc"])
    ticks = ticks[_usable_price(ticks["price"]) & _received_plausibly(ticks["ingestion_us"])]
    exchange_us = ticks["exchange_ts_ms"].astype("Int64") * 1000
    ticks["exchange_us"] = exchange_us.fillna(_epoch_us(ticks["exchange_ts_utc"]))
    ticks["source"] = ticks["source"].fillna("ws")
    symbol_map = {s: _normalise_symbol(s, assets) for s in ticks["symbol"].dropna().unique()}
    ticks["symbol_raw"] = ticks["symbol"]
    ticks["symbol"] = ticks["symbol_raw"].map(symbol_map)
    duplicate_key = ["exchange_id", "symbol_raw", "ingestion_us", "exchange_us", "price"]
    ticks = ticks.sort_values(["source_file", "source_row_id"])
    return ticks.drop_duplicates(subset=duplicate_key, keep="first")


def _usable_price(prices: pd.Series) -> pd.Series:
    values = pd.to_numeric(prices, errors="coerce").astype(float)
    return values.notna() & np.isfinite(values) & (values > 0) & (values <= MAX_PLAUSIBLE_PRICE)


def _received_plausibly(ingestion_us: pd.Series) -> pd.Series:
    latest_us = pd.Timestamp.now(tz="UTC").value // 1000 + MAX_FUTURE_US
    return ingestion_us.notna() & (ingestion_us >= MIN_PLAUSIBLE_US) & (ingestion_us <= latest_us)


def live_ticks(staged: pd.DataFrame) -> pd.DataFrame:
    return staged[staged["source"].isin(LIVE_SOURCES)].reset_index(drop=True)


def backfill_bars(staged: pd.DataFrame) -> pd.DataFrame:
    """Backfilled bars: ``exchange_us`` is the bar's open time, ``price`` its close."""
    return staged[staged["source"] == "backfill"].reset_index(drop=True)


def _plausible(values: pd.Series) -> pd.Series:
    return values.notna() & (values >= MIN_PLAUSIBLE_US) & (values < MAX_PLAUSIBLE_US)


def _utc_date(epoch_us: pd.Series) -> pd.Series:
    return pd.to_datetime(epoch_us.astype("int64"), unit="us", utc=True).dt.date


def latency_daily(ticks: pd.DataFrame) -> pd.DataFrame:
    """latency_ms = ingestion - exchange time, kept when both exist and >= 0; per UTC day."""
    usable = ticks[_plausible(ticks["ingestion_us"]) & _plausible(ticks["exchange_us"])].copy()
    usable["latency_ms"] = (usable["ingestion_us"] - usable["exchange_us"]).astype(float) / 1000
    usable = usable[usable["latency_ms"] >= 0]
    usable["kpi_date_utc"] = _utc_date(usable["ingestion_us"])
    grouped = usable.groupby(["kpi_date_utc", "exchange_id", "symbol"])["latency_ms"]
    result = grouped.agg(
        latency_sample_count="count",
        avg_latency_ms="mean",
        min_latency_ms="min",
        max_latency_ms="max",
    )
    for name, quantile in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        result[f"{name}_latency_ms"] = grouped.quantile(quantile)
    return result.reset_index()


def update_frequency_daily(ticks: pd.DataFrame) -> pd.DataFrame:
    """Gap to the previous tick of the pair, kept when > 0, on the later tick's UTC day."""
    usable = ticks[_plausible(ticks["ingestion_us"])][["exchange_id", "symbol", "ingestion_us"]]
    usable = usable.sort_values(["exchange_id", "symbol", "ingestion_us"])
    previous = usable.groupby(["exchange_id", "symbol"])["ingestion_us"].shift()
    usable = usable.assign(interval_s=(usable["ingestion_us"] - previous).astype(float) / US_PER_S)
    usable = usable[usable["interval_s"] > 0]
    usable["kpi_date_utc"] = _utc_date(usable["ingestion_us"])
    result = (
        usable.groupby(["kpi_date_utc", "exchange_id", "symbol"])["interval_s"]
        .agg(
            interval_count="count",
            avg_update_interval_s="mean",
            min_update_interval_s="min",
            max_update_interval_s="max",
        )
        .reset_index()
    )
    result["update_frequency_hz"] = 1.0 / result["avg_update_interval_s"]
    return result


def disconnects_daily(events: pd.DataFrame) -> pd.DataFrame:
    """Events of type 'disconnect' per UTC day and exchange."""
    columns = ["kpi_date_utc", "exchange_id", "disconnect_count"]
    if events.empty:
        return pd.DataFrame(columns=columns)
    disconnects = events[
        (events["event_type"] == "disconnect") & (events["exchange_id"] != "__none__")
    ]
    days = _utc_date(_epoch_us(disconnects["event_ts_utc"]))
    counted = disconnects.assign(kpi_date_utc=days).groupby(["kpi_date_utc", "exchange_id"]).size()
    return counted.rename("disconnect_count").reset_index()[columns]


def market_grid(ticks: pd.DataFrame, bars: pd.DataFrame, params: GridParams) -> pd.DataFrame:
    """The cleansing grid: one row per pair and bucket over the span of its ticks and bars.

    A bar is one price point (its close) at its end, in the bucket holding that end; a bucket
    with live ticks ignores its bar.
    """
    bin_us = params.bin_seconds * US_PER_S
    usable = ticks[_plausible(ticks["ingestion_us"]) & (ticks["price"] > 0)]
    usable = usable.sort_values(["ingestion_us", "source_file", "source_row_id"])
    usable = usable.assign(bucket=usable["ingestion_us"].astype("int64") // bin_us)
    keys = ["exchange_id", "symbol", "bucket"]
    buckets = usable.groupby(keys).agg(
        tick_count_in_bin=("price", "size"),
        first_us=("ingestion_us", "first"),
        first_price=("price", "first"),
        last_us=("ingestion_us", "last"),
        last_price=("price", "last"),
    )
    usable_bars = bars[_plausible(bars["exchange_us"]) & (bars["price"] > 0)]
    usable_bars = usable_bars.assign(close_us=usable_bars["exchange_us"] + BAR_US)
    usable_bars = usable_bars.sort_values(["close_us", "ingestion_us"])
    usable_bars = usable_bars.assign(bucket=(usable_bars["close_us"].astype("int64") - 1) // bin_us)
    bar_buckets = usable_bars.groupby(keys).agg(
        bar_us=("close_us", "last"), bar_price=("price", "last")
    )
    buckets = buckets.join(bar_buckets, how="outer")
    observed_bucket = buckets["tick_count_in_bin"].notna()
    buckets["has_bar"] = buckets["bar_us"].notna() & ~observed_bucket
    for point, bar_column in (("first_us", "bar_us"), ("last_us", "bar_us")):
        buckets[point] = buckets[point].where(observed_bucket, buckets[bar_column])
    for price in ("first_price", "last_price"):
        buckets[price] = buckets[price].where(observed_bucket, buckets["bar_price"])
    spans = buckets.reset_index().groupby(["exchange_id", "symbol"])["bucket"].agg(["min", "max"])
    full_index = pd.MultiIndex.from_tuples(
        [
            (exchange_id, symbol, bucket)
            for exchange_id, symbol, first, last in spans.reset_index().itertuples(index=False)
            for bucket in range(int(first), int(last) + 1)
        ],
        names=keys,
    )
    grid = buckets.reindex(full_index).reset_index()
    pair = grid.groupby(["exchange_id", "symbol"])
    grid["previous_us"] = pair["last_us"].ffill()
    grid["previous_price"] = pair["last_price"].ffill()
    grid["next_us"] = pair["first_us"].shift(-1)
    grid["next_price"] = pair["first_price"].shift(-1)
    pair = grid.groupby(["exchange_id", "symbol"])
    grid["next_us"] = pair["next_us"].bfill()
    grid["next_price"] = pair["next_price"].bfill()

    end_us = (grid["bucket"] + 1) * bin_us
    grid["age_seconds"] = (end_us - grid["previous_us"]).astype(float) / US_PER_S
    to_next_s = (grid["next_us"] - end_us).astype(float) / US_PER_S
    observed = grid["tick_count_in_bin"].notna()
    backfill = grid["has_bar"].eq(True)
    within = grid["age_seconds"] <= params.max_forward_fill_s
    interpolate = (
        (params.fill_method_mode == "interpolation")
        & ~observed
        & ~backfill
        & within
        & (to_next_s <= params.max_forward_fill_s)
    )
    forward = ~observed & ~backfill & ~interpolate & within
    grid["fill_method"] = np.select(
        [observed, backfill, interpolate, forward],
        ["observed", "backfill", "interpolation", "forward_fill"],
        "missing",
    )
    weight = (end_us - grid["previous_us"]) / (grid["next_us"] - grid["previous_us"])
    interpolated = grid["previous_price"] + (grid["next_price"] - grid["previous_price"]) * weight
    grid["price"] = np.select(
        [observed | backfill, interpolate, forward],
        [grid["last_price"], interpolated, grid["previous_price"]],
        np.nan,
    )
    grid["is_missing"] = grid["fill_method"] == "missing"
    grid["is_stale"] = grid["age_seconds"] > params.stale_after_s
    grid["tick_count_in_bin"] = grid["tick_count_in_bin"].fillna(0).astype("int64")
    grid["bucket_start_utc"] = pd.to_datetime(
        grid["bucket"] * params.bin_seconds, unit="s", utc=True
    )
    return grid[
        [
            "bucket_start_utc",
            "exchange_id",
            "symbol",
            "price",
            "fill_method",
            "age_seconds",
            "is_stale",
            "is_missing",
            "tick_count_in_bin",
        ]
    ]


def price_deviation(grid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aligned (bucket, symbol) deviations over >= 2 fresh prices, and their daily summary."""
    fresh = grid[grid["price"].notna() & ~grid["is_missing"] & ~grid["is_stale"]]
    keys = ["bucket_start_utc", "symbol"]
    counts = fresh.groupby(keys).size().rename("exchanges_compared")
    highest = fresh.sort_values(
        [*keys, "price", "exchange_id"], ascending=[True, True, False, True]
    )
    lowest = fresh.sort_values([*keys, "price", "exchange_id"], ascending=[True, True, True, False])
    top = highest.groupby(keys).first()
    bottom = lowest.groupby(keys).first()
    aligned = pd.DataFrame(
        {
            "exchanges_compared": counts,
            "max_price": top["price"],
            "min_price": bottom["price"],
            "max_exchange_id": top["exchange_id"],
            "min_exchange_id": bottom["exchange_id"],
        }
    )
    aligned = aligned[aligned["exchanges_compared"] >= 2].reset_index()
    aligned["price_diff_abs"] = aligned["max_price"] - aligned["min_price"]
    aligned["price_diff_pct"] = aligned["price_diff_abs"] / aligned["min_price"] * 100
    aligned["exchange_pair"] = aligned["max_exchange_id"] + "|" + aligned["min_exchange_id"]
    aligned["kpi_date_utc"] = aligned["bucket_start_utc"].dt.date

    by_size = aligned.sort_values(
        ["kpi_date_utc", "symbol", "price_diff_abs", "bucket_start_utc"],
        ascending=[True, True, False, True],
    )
    biggest = by_size.groupby(["kpi_date_utc", "symbol"]).first()
    daily = aligned.groupby(["kpi_date_utc", "symbol"]).agg(
        aligned_points_compared=("price_diff_abs", "size"),
        max_price_diff_abs=("price_diff_abs", "max"),
        max_price_diff_pct=("price_diff_pct", "max"),
        avg_price_diff_abs=("price_diff_abs", "mean"),
        avg_price_diff_pct=("price_diff_pct", "mean"),
    )
    daily["max_diff_bucket_start_utc"] = biggest["bucket_start_utc"]
    daily["max_diff_exchange_pair"] = biggest["exchange_pair"]
    return aligned, daily.reset_index()


def compute_all(lake_dir: Path, params: GridParams | None = None) -> dict[str, pd.DataFrame]:
    """Every reference output, keyed by the name of the dbt model it mirrors."""
    grid_params = params or GridParams()
    staged = stage_rows(read_lake_table(lake_dir, "market_ticks"), canonical_asset_map())
    ticks = live_ticks(staged)
    events = read_lake_table(lake_dir, "connection_events")
    grid = market_grid(ticks, backfill_bars(staged), grid_params)
    aligned, daily = price_deviation(grid)
    return {
        "fct_latency_daily": latency_daily(ticks),
        "fct_update_frequency_daily": update_frequency_daily(ticks),
        "fct_disconnects_daily": disconnects_daily(events),
        "cln_market_grid": grid,
        "fct_price_deviation_aligned": aligned,
        "fct_price_deviation_daily": daily,
    }
