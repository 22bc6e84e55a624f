{{ config(materialized='incremental', unique_key='tick_hour_utc') }}

{%- set window_start = incremental_start_hour('tick_hour_utc') %}

-- One row per staged tick (live and backfill) with a flag per data-quality check of the original
-- cleansing step. Flags describe; nothing is dropped here. Incremental by UTC hour like staging.
with

market_ticks as not materialized (
    select * from {{ ref('stg_lake__market_ticks') }}
    where
        tick_date_utc >= cast({{ window_start }} as date)
        and tick_hour_utc >= {{ window_start }}
),

-- The original's duplicate check: same pair, reception time and effective price. Exact
-- duplicates were already collapsed in staging and are counted in landed_copies.
same_pair_time_price as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc,
        price,
        min((source_file, source_row_id)) as first_tick_key
    from market_ticks
    group by exchange_id, symbol, ingestion_ts_utc, price
    having count(*) > 1
),

flagged as (
    select
        market_ticks.source_file,
        market_ticks.source_row_id,
        market_ticks.tick_hour_utc,
        market_ticks.tick_date_utc,
        market_ticks.exchange_id,
        market_ticks.symbol,
        market_ticks.source,
        market_ticks.ingestion_ts_utc,
        market_ticks.price,
        market_ticks.landed_copies,
        market_ticks.ingestion_ts_utc is null as is_null_ingestion_ts,
        (
            market_ticks.ingestion_ts_utc is not null
            and not {{ is_plausible_ts('market_ticks.ingestion_ts_utc') }}
        )
        or (
            market_ticks.exchange_ts_utc is not null
            and not {{ is_plausible_ts('market_ticks.exchange_ts_utc') }}
        ) as is_unparseable_ts,
        market_ticks.price is null as is_null_price,
        coalesce(market_ticks.price <= 0, false) as is_non_positive_price,
        coalesce(
            market_ticks.price < 0
            or market_ticks.bid < 0
            or market_ticks.ask < 0
            or market_ticks.last_price < 0
            or market_ticks.base_volume < 0
            or market_ticks.quote_volume < 0,
            false
        ) as has_negative_numeric,
        coalesce(market_ticks.bid > market_ticks.ask, false) as is_bid_above_ask,
        market_ticks.landed_copies > 1
        or coalesce(
            (market_ticks.source_file, market_ticks.source_row_id)
            != same_pair_time_price.first_tick_key,
            false
        )
            as is_duplicate_tick
    from market_ticks
    left join same_pair_time_price
        on
            market_ticks.exchange_id is not distinct from same_pair_time_price.exchange_id
            and market_ticks.symbol is not distinct from same_pair_time_price.symbol
            and market_ticks.ingestion_ts_utc
            is not distinct from same_pair_time_price.ingestion_ts_utc
            and market_ticks.price is not distinct from same_pair_time_price.price
),

final as (
    select
        *,
        is_null_ingestion_ts
        or is_unparseable_ts
        or is_null_price
        or is_non_positive_price
        or has_negative_numeric
        or is_bid_above_ask
        or is_duplicate_tick as has_any_issue
    from flagged
)

select * from final
