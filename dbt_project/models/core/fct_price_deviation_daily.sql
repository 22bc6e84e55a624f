-- Daily cross-exchange deviation per (kpi_date_utc, symbol) from fct_price_deviation_aligned.
-- The max-difference bucket is the one with the largest price_diff_abs (earliest on ties).
with

aligned as (
    select * from {{ ref('fct_price_deviation_aligned') }}
),

final as (
    select
        kpi_date_utc,
        symbol,
        count(*) as aligned_points_compared,
        max(price_diff_abs) as max_price_diff_abs,
        max(price_diff_pct) as max_price_diff_pct,
        avg(price_diff_abs) as avg_price_diff_abs,
        avg(price_diff_pct) as avg_price_diff_pct,
        first(bucket_start_utc order by price_diff_abs desc, bucket_start_utc asc)
            as max_diff_bucket_start_utc,
        first(exchange_pair order by price_diff_abs desc, bucket_start_utc asc)
            as max_diff_exchange_pair
    from aligned
    group by kpi_date_utc, symbol
)

select * from final
