{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_market_grid'), 'bucket_hour_utc'),
], 'day') %}
{%- set bin_s = var('bin_seconds') %}

-- Grid coverage per (kpi_date_utc, exchange_id, symbol), bucket day = the UTC day of
-- bucket_start_utc. The day's buckets before the data horizon (the newest watch end of any market)
-- are split into observed, backfill, forward_fill, interpolation and missing grid buckets, and
-- unobserved ones (no grid row: no collector watched the market and no price point fell in it):
--   coverage_pct       (observed + backfill) / total_buckets * 100: grid buckets priced from data
--                      of their own
--   live_coverage_pct  observed / watched_buckets * 100: of the buckets a collector watched, the
--                      share with a live tick (what the platform quality score uses)
-- Rows for every market-day with a grid bucket.
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
    where bucket_hour_utc >= {{ window_start }}
),

watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where symbol != '*'
),

data_horizon as (
    select max(watch_end_utc) as horizon_utc from watch_intervals
),

grid_daily as (
    select
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        count(*) filter (where fill_method = 'observed') as observed_buckets,
        count(*) filter (where fill_method = 'backfill') as backfill_buckets,
        count(*) filter (where fill_method = 'forward_fill') as forward_fill_buckets,
        count(*) filter (where fill_method = 'interpolation') as interpolation_buckets,
        count(*) filter (where fill_method = 'missing') as missing_buckets,
        count(*) as total_buckets,
        count(*) filter (where is_watched) as watched_buckets,
        max(bucket_epoch_s) as last_bucket_epoch_s
    from market_grid
    group by all
),

final as (
    select
        grid_daily.kpi_date_utc,
        grid_daily.exchange_id,
        grid_daily.symbol,
        grid_daily.observed_buckets,
        grid_daily.backfill_buckets,
        grid_daily.forward_fill_buckets,
        grid_daily.interpolation_buckets,
        grid_daily.missing_buckets,
        grid_daily.total_buckets,
        grid_daily.watched_buckets,
        -- The day's bucket starts before the horizon (all of them for a day before it).
        greatest(
            least(
                {{ 86400 // bin_s }},
                {{ int_div(
                    'greatest(' ~ int_div(epoch_micros('data_horizon.horizon_utc') ~ ' - 1', 1000000)
                    ~ ', grid_daily.last_bucket_epoch_s) - '
                    ~ epoch_seconds(cast_as('grid_daily.kpi_date_utc', 'timestamptz')),
                    bin_s,
                ) }}
                + 1
            ) - grid_daily.total_buckets,
            0
        ) as unobserved_buckets,
        100 * (grid_daily.observed_buckets + grid_daily.backfill_buckets)
        / grid_daily.total_buckets as coverage_pct,
        100 * grid_daily.observed_buckets / nullif(grid_daily.watched_buckets, 0)
            as live_coverage_pct,
        {{ build_started_at() }} as built_at_utc
    from grid_daily
    cross join data_horizon
)

select * from final
