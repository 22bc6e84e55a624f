-- Outlier-return check of the original cleansing step: one row per observed grid bucket with its
-- return against the previous observed bucket of the same pair; an outlier when the absolute
-- return exceeds dq_outlier_threshold_pct (a fraction: 0.2 = 20 %).
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

observed_buckets as (
    select
        exchange_id,
        symbol,
        bucket_start_utc,
        price,
        lag(price) over (
            partition by exchange_id, symbol order by bucket_start_utc
        ) as previous_observed_price
    from market_grid
    where fill_method = 'observed'
),

final as (
    select
        exchange_id,
        symbol,
        bucket_start_utc,
        price,
        previous_observed_price,
        price / previous_observed_price - 1 as return_ratio,
        coalesce(
            abs(price / previous_observed_price - 1) > {{ var('dq_outlier_threshold_pct') }},
            false
        ) as is_outlier_return
    from observed_buckets
)

select * from final
