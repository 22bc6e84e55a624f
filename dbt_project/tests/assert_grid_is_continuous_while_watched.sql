-- Grid continuity: every bucket that overlaps a market's watch interval is in the grid, and is
-- marked is_watched. Checked from the first hour this build wrote (everything on a full build).
-- Returns each missing (exchange_id, symbol, bucket_epoch_s).
{%- set bin_s = var('bin_seconds') %}
{%- set checked_from = span_built_by_this_build(ref('cln_market_grid'), 'bucket_hour_utc').start %}

with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
    where bucket_hour_utc >= {{ checked_from }}
),

-- Only intervals that reach the checked hours are expanded, so the cost follows what was built.
watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where symbol != '*' and watch_end_utc > {{ checked_from }}
),

expected_buckets as (
    select
        exchange_id,
        symbol,
        {{ integer_series(
            bucket_epoch_s('watch_start_utc', bin_s),
            last_watched_bucket_epoch_s('watch_start_utc', 'watch_end_utc', bin_s),
            bin_s,
            'bucket_epoch_s',
        ) }}
    from watch_intervals
),

final as (
    select
        expected_buckets.exchange_id,
        expected_buckets.symbol,
        expected_buckets.bucket_epoch_s
    from expected_buckets
    left join market_grid
        on
            expected_buckets.exchange_id = market_grid.exchange_id
            and expected_buckets.symbol = market_grid.symbol
            and expected_buckets.bucket_epoch_s = market_grid.bucket_epoch_s
    where
        not coalesce(market_grid.is_watched, false)
        and expected_buckets.bucket_epoch_s >= {{ epoch_seconds(checked_from) }}
)

select * from final
