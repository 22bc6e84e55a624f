{{ config(materialized='view') }}

-- One row per staged tick (live and backfill) with a flag per data-quality check of the original
-- cleansing step. Flags describe; nothing is dropped here.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
),

flagged as (
    select
        tick_id,
        tick_date_utc,
        exchange_id,
        symbol,
        source,
        ingestion_ts_utc,
        price,
        landed_copies,
        ingestion_ts_utc is null as is_null_ingestion_ts,
        (ingestion_ts_utc is not null and not {{ is_plausible_ts('ingestion_ts_utc') }})
        or (exchange_ts_utc is not null and not {{ is_plausible_ts('exchange_ts_utc') }})
            as is_unparseable_ts,
        price is null as is_null_price,
        coalesce(price <= 0, false) as is_non_positive_price,
        coalesce(
            price < 0 or bid < 0 or ask < 0 or last_price < 0
            or base_volume < 0 or quote_volume < 0,
            false
        ) as has_negative_numeric,
        coalesce(bid > ask, false) as is_bid_above_ask,
        -- The original's duplicate check: same pair, timestamp and effective price (exact
        -- duplicates were already collapsed in staging and are counted in landed_copies).
        landed_copies > 1
        or row_number() over (
            partition by exchange_id, symbol, ingestion_ts_utc, price order by tick_id
        ) > 1 as is_duplicate_tick
    from market_ticks
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
