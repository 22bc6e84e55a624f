{{ config(materialized=reshaping_materialization()) }}

-- Cross-exchange spread at aligned timestamps, one row per (bucket_start_utc, symbol); outlier
-- prints are left out of price_diff_* and kept in unfiltered_*.
with

aligned as (
    select * from {{ ref('fct_price_deviation_aligned') }}
),

final as (
    select
        bucket_start_utc,
        symbol,
        base_asset,
        quote_asset,
        exchanges_compared,
        price_diff_abs,
        price_diff_pct,
        max_exchange_id,
        min_exchange_id,
        exchange_pair,
        unfiltered_price_diff_abs,
        unfiltered_price_diff_pct
    from aligned
)

select * from final
