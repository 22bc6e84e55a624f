-- Cross-exchange spread at aligned timestamps, one row per (bucket_start_utc, symbol).
with

aligned as (
    select * from {{ ref('fct_price_deviation_aligned') }}
),

final as (
    select
        bucket_start_utc,
        symbol,
        base_asset,
        exchanges_compared,
        price_diff_abs,
        price_diff_pct,
        max_exchange_id,
        min_exchange_id,
        exchange_pair
    from aligned
)

select * from final
