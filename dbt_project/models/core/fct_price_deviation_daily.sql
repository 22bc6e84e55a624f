{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('fct_price_deviation_aligned'), 'bucket_hour_utc'),
], 'day') %}

-- Cross-exchange deviation per (kpi_date_utc, symbol) from fct_price_deviation_aligned (the
-- original's vw_core_kpi_price_deviation_daily): aligned_points_compared = buckets with a deviation
-- after outlier rows are left out; max/avg of price_diff_abs and price_diff_pct over them; the
-- max-difference bucket is the one with the largest price_diff_abs (earliest on ties). The
-- unfiltered maxima (outlier rows included) and the buckets that lost a row to the outlier filter
-- sit beside them. Rows for every day and symbol with an aligned bucket.
with

aligned as (
    select * from {{ ref('fct_price_deviation_aligned') }}
    where bucket_hour_utc >= {{ window_start }}
),

final as (
    select
        kpi_date_utc,
        symbol,
        min(base_asset) as base_asset,
        min(quote_asset) as quote_asset,
        count(price_diff_abs) as aligned_points_compared,
        max(price_diff_abs) as max_price_diff_abs,
        max(price_diff_pct) as max_price_diff_pct,
        avg(price_diff_abs) as avg_price_diff_abs,
        avg(price_diff_pct) as avg_price_diff_pct,
        -- the bucket of the largest difference (ties: the earliest)
        min_by(bucket_start_utc, {{ ordering_key(['-price_diff_abs', 'bucket_start_utc']) }})
        filter (where price_diff_abs is not null) as max_diff_bucket_start_utc,
        min_by(exchange_pair, {{ ordering_key(['-price_diff_abs', 'bucket_start_utc']) }})
        filter (where price_diff_abs is not null) as max_diff_exchange_pair,
        max(unfiltered_price_diff_abs) as unfiltered_max_price_diff_abs,
        max(unfiltered_price_diff_pct) as unfiltered_max_price_diff_pct,
        count(*) filter (where outlier_rows_excluded > 0) as outlier_buckets,
        count(*) filter (where is_over_deviation_limit) as over_deviation_limit_count,
        {{ build_started_at() }} as built_at_utc
    from aligned
    group by kpi_date_utc, symbol
)

select * from final
