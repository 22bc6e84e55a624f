{{ config(materialized=reshaping_materialization()) }}

-- The largest price difference of each exchange pair per market, over the price_window_hours (24)
-- before the newest aligned bucket: one row per (symbol, exchange_pair), so a pair shows once
-- however many minutes it was the widest. A minute counts for the pair that was its widest
-- (fct_price_deviation_aligned: highest and lowest exchange, like quotes only, outlier prints
-- left out). exchange_pair names the two exchanges alphabetically ('binance / kraken');
-- higher_exchange_id says which was dearer at the largest difference. Ties: the latest minute.
with

aligned as {{ inlined() }} (
    select * from {{ ref('fct_price_deviation_aligned') }}
),

newest_bucket as (
    select max(bucket_start_utc) as newest_bucket_start_utc from aligned
),

pair_minutes as (
    select
        aligned.bucket_start_utc,
        aligned.symbol,
        aligned.base_asset,
        aligned.quote_asset,
        least(aligned.max_exchange_id, aligned.min_exchange_id)
        || ' / '
        || greatest(aligned.max_exchange_id, aligned.min_exchange_id) as exchange_pair,
        aligned.max_exchange_id,
        aligned.price_diff_abs,
        aligned.price_diff_pct,
        aligned.exchanges_compared
    from aligned
    cross join newest_bucket
    where
        aligned.price_diff_pct is not null
        and aligned.bucket_start_utc
        > newest_bucket.newest_bucket_start_utc
        - {{ interval_of(var('price_window_hours'), 'hour') }}
),

pair_minute_counts as (
    select
        symbol,
        exchange_pair,
        count(*) as widest_minutes
    from pair_minutes
    group by symbol, exchange_pair
),

largest_per_pair as (
    select * from pair_minutes
    qualify
        row_number() over (
            partition by symbol, exchange_pair
            order by price_diff_pct desc, bucket_start_utc desc
        ) = 1
),

final as (
    select
        largest_per_pair.symbol,
        largest_per_pair.base_asset,
        largest_per_pair.quote_asset,
        largest_per_pair.exchange_pair,
        largest_per_pair.max_exchange_id as higher_exchange_id,
        largest_per_pair.price_diff_pct as largest_price_diff_pct,
        largest_per_pair.price_diff_abs as largest_price_diff_abs,
        largest_per_pair.bucket_start_utc as largest_at_utc,
        largest_per_pair.exchanges_compared,
        pair_minute_counts.widest_minutes
    from largest_per_pair
    inner join pair_minute_counts
        on
            largest_per_pair.symbol = pair_minute_counts.symbol
            and largest_per_pair.exchange_pair = pair_minute_counts.exchange_pair
)

select * from final
