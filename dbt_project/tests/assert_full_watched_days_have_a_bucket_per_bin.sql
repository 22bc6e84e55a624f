-- A market watched for a whole UTC day has exactly 86400 / bin_seconds grid buckets that day (1,440
-- with 60 s buckets): no gap, no duplicate, nothing outside the day. Checked for the days this
-- build wrote (every day on a full build). Returns each such market-day with another count.
{%- set built = span_built_by_this_build(ref('cln_market_grid'), 'bucket_start_utc', 'day') %}

with

market_grid as {{ inlined() }} (
    select * from {{ ref('cln_market_grid') }}
),

checked_days as (
    select distinct {{ utc_date('bucket_start_utc') }} as kpi_date_utc
    from market_grid
    where built_at_utc = {{ build_started_at() }}
),

-- Only intervals that reach the checked days are expanded, so the cost follows what was built.
watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where
        symbol != '*'
        and watch_end_utc > {{ built['start'] }}
),

fully_watched_days as (
    select distinct
        exchange_id,
        symbol,
        {{ date_series(
            utc_date('watch_start_utc') ~ ' + interval 1 day',
            utc_date('watch_end_utc') ~ ' - interval 1 day',
            'kpi_date_utc',
        ) }}
    from watch_intervals
    union
    select
        exchange_id,
        symbol,
        {{ utc_date('watch_start_utc') }} as kpi_date_utc
    from watch_intervals
    where
        watch_start_utc = {{ cast_as(utc_date('watch_start_utc'), 'timestamptz') }}
        and watch_end_utc
        >= {{ cast_as(utc_date('watch_start_utc'), 'timestamptz') }} + interval 1 day
),

grid_days as (
    select
        exchange_id,
        symbol,
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        count(*) as bucket_count
    from market_grid
    where
        bucket_start_utc >= {{ built['start'] }}
        and bucket_start_utc < {{ built['end'] }}
        and {{ utc_date('bucket_start_utc') }} in (
            select checked_days.kpi_date_utc from checked_days
        )
    group by all
),

final as (
    select
        fully_watched_days.exchange_id,
        fully_watched_days.symbol,
        fully_watched_days.kpi_date_utc,
        coalesce(grid_days.bucket_count, 0) as bucket_count
    from fully_watched_days
    left join grid_days
        on
            fully_watched_days.exchange_id = grid_days.exchange_id
            and fully_watched_days.symbol = grid_days.symbol
            and fully_watched_days.kpi_date_utc = grid_days.kpi_date_utc
    where
        coalesce(grid_days.bucket_count, 0) != 86400 / {{ var('bin_seconds') }}
        and fully_watched_days.kpi_date_utc in (select checked_days.kpi_date_utc from checked_days)
)

select * from final
