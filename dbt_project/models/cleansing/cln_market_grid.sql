{{ config(**incremental_by_unit('bucket_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_ticks_bucketed'), 'bucket_hour_utc'),
    (ref('stg_lake__backfill_bars'), 'bar_open_utc'),
    (ref('cln_landing_activity_hourly'), 'activity_hour_utc'),
]) %}
{%- set bin_s = var('bin_seconds') %}
{%- set max_fill_s = var('max_forward_fill_s') %}
{%- set bar_seconds = 60 %}
{%- if var('grid_age_reference') not in ['bucket_start', 'bucket_end'] %}
    {{ exceptions.raise_compiler_error(
        "var grid_age_reference must be bucket_start or bucket_end, not "
        ~ var('grid_age_reference')
    ) }}
{%- endif %}
{%- if var('fill_method_mode') not in ['forward_fill', 'interpolation'] %}
    {{ exceptions.raise_compiler_error(
        "var fill_method_mode must be forward_fill or interpolation, not "
        ~ var('fill_method_mode')
    ) }}
{%- endif %}
{%- if 3600 % bin_s != 0 or bin_s % 60 != 0 %}
    {{ exceptions.raise_compiler_error(
        "var bin_seconds must be a multiple of 60 that divides 3600, not " ~ bin_s
    ) }}
{%- endif %}
{%- set reference_offset_s = 0 if var('grid_age_reference') == 'bucket_start' else bin_s %}

-- The comparable time grid: one row per (exchange_id, symbol, bucket_start_utc) for every bucket
-- in which a collector was watching the market (cln_watch_intervals) and every bucket holding a
-- price point (a live tick, or a backfilled 1-minute bar). Unobserved time has no rows. A bucket
-- is valued as of its reference time t = bucket start (var grid_age_reference = bucket_start, the
-- original's definition) or bucket end. A price point is a KPI tick (at its reception time) or a
-- backfilled bar (its close, at the bar's end). docs/contracts/cleansing_core.md:
--   observed       the bucket holds KPI ticks: the last one's price; age 0 (bucket_start) or
--                  t - its reception time (bucket_end)
--   backfill       no tick, a bar opens in the bucket: the last such bar's close; age t - its end
--                  (0 with 60 s buckets)
--   interpolation  (fill_method_mode = 'interpolation') the last point before the bucket is at most
--                  max_forward_fill_s before t and the first point after it at most
--                  max_forward_fill_s after t: linear in time at t; age = the nearer of the two
--   forward_fill   the last point before the bucket is at most max_forward_fill_s before t: its
--                  price; age = t - its time
--   missing        otherwise: price and age null, stale
with

ticks_bucketed as (
    select * from {{ ref('cln_ticks_bucketed') }}
),

backfill_bars as (
    select * from {{ ref('stg_lake__backfill_bars') }}
),

watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where symbol != '*' and watch_end_utc >= {{ window_start }}
),

-- Points before the rebuilt hours matter as far back as max_forward_fill_s (plus one bucket).
context_start as (
    select {{ window_start }} - {{ interval_of(max_fill_s + bin_s, 'second') }} as context_start_utc
),

observed_buckets as (
    select
        exchange_id,
        symbol,
        bucket_epoch_s,
        tick_count_in_bin,
        first_tick_ts_utc,
        first_price,
        last_tick_ts_utc,
        last_price,
        is_outlier_return
    from ticks_bucketed
    where bucket_start_utc >= (select context_start.context_start_utc from context_start)
),

bars_in_range as (
    select
        exchange_id,
        symbol,
        source_file,
        source_row_id,
        fetched_at_utc,
        close_price,
        bar_open_utc + {{ interval_of(bar_seconds, 'second') }} as bar_close_utc,
        -- The bucket the bar opens in (bin_seconds is a multiple of 60: it also holds its end).
        {{ bucket_epoch_s('bar_open_utc', bin_s) }} as bucket_epoch_s
    from backfill_bars
    where
        bar_open_utc >= (select context_start.context_start_utc from context_start)
        and {{ is_plausible_ts('bar_open_utc') }}
),

bar_buckets as (
    select
        exchange_id,
        symbol,
        bucket_epoch_s,
        max(bar_close_utc) as bar_close_utc,
        max_by(
            close_price,
            {{ ordering_key(['bar_close_utc', 'fetched_at_utc', 'source_file', 'source_row_id']) }}
        ) as close_price,
        max_by(
            fetched_at_utc,
            {{ ordering_key(['bar_close_utc', 'fetched_at_utc', 'source_file', 'source_row_id']) }}
        ) as fetched_at_utc
    from bars_in_range
    group by exchange_id, symbol, bucket_epoch_s
),

-- One row per bucket holding a point; live ticks win over a bar in the same bucket.
point_buckets as (
    select
        coalesce(observed_buckets.exchange_id, bar_buckets.exchange_id) as exchange_id,
        coalesce(observed_buckets.symbol, bar_buckets.symbol) as symbol,
        coalesce(observed_buckets.bucket_epoch_s, bar_buckets.bucket_epoch_s) as bucket_epoch_s,
        coalesce(observed_buckets.tick_count_in_bin, 0) as tick_count_in_bin,
        bar_buckets.bucket_epoch_s is not null as has_backfill_bar,
        coalesce(observed_buckets.first_tick_ts_utc, bar_buckets.bar_close_utc)
            as first_point_ts_utc,
        coalesce(observed_buckets.first_price, bar_buckets.close_price) as first_price,
        coalesce(observed_buckets.last_tick_ts_utc, bar_buckets.bar_close_utc)
            as last_point_ts_utc,
        coalesce(observed_buckets.last_price, bar_buckets.close_price) as last_price,
        coalesce(observed_buckets.last_tick_ts_utc, bar_buckets.fetched_at_utc)
            as last_point_received_ts_utc,
        coalesce(observed_buckets.is_outlier_return, false) as is_outlier_point
    from observed_buckets
    full outer join bar_buckets
        on
            observed_buckets.exchange_id = bar_buckets.exchange_id
            and observed_buckets.symbol = bar_buckets.symbol
            and observed_buckets.bucket_epoch_s = bar_buckets.bucket_epoch_s
),

-- Buckets overlapping a watch interval, from the rebuilt hours on.
watched_buckets as (
    select distinct
        exchange_id,
        symbol,
        {{ integer_series(
            'greatest(' ~ bucket_epoch_s('watch_start_utc', bin_s) ~ ', '
            ~ epoch_seconds(window_start) ~ ')',
            last_watched_bucket_epoch_s('watch_start_utc', 'watch_end_utc', bin_s),
            bin_s,
            'bucket_epoch_s',
        ) }}
    from watch_intervals
),

grid_buckets as (
    select
        coalesce(watched_buckets.exchange_id, point_buckets.exchange_id) as exchange_id,
        coalesce(watched_buckets.symbol, point_buckets.symbol) as symbol,
        coalesce(watched_buckets.bucket_epoch_s, point_buckets.bucket_epoch_s) as bucket_epoch_s,
        watched_buckets.bucket_epoch_s is not null as is_watched,
        point_buckets.bucket_epoch_s
        < {{ epoch_seconds(window_start) }} as is_context,
        coalesce(point_buckets.tick_count_in_bin, 0) as tick_count_in_bin,
        coalesce(point_buckets.has_backfill_bar, false) as has_backfill_bar,
        point_buckets.first_point_ts_utc,
        point_buckets.first_price,
        point_buckets.last_point_ts_utc,
        point_buckets.last_price,
        point_buckets.last_point_received_ts_utc,
        point_buckets.is_outlier_point
    from watched_buckets
    full outer join point_buckets
        on
            watched_buckets.exchange_id = point_buckets.exchange_id
            and watched_buckets.symbol = point_buckets.symbol
            and watched_buckets.bucket_epoch_s = point_buckets.bucket_epoch_s
),

grid_with_neighbour_points as (
    select
        *,
        {{ from_epoch_seconds('bucket_epoch_s + ' ~ reference_offset_s) }} as reference_ts_utc,
        {{ last_non_null('last_point_ts_utc') }} over before_this_bucket
            as previous_point_ts_utc,
        {{ last_non_null('last_point_received_ts_utc') }} over before_this_bucket
            as previous_point_received_ts_utc,
        {{ last_non_null('last_price') }} over before_this_bucket as previous_price,
        {{ last_non_null('is_outlier_point') }} over before_this_bucket
            as is_previous_point_outlier,
        {{ first_non_null('first_point_ts_utc') }} over after_this_bucket as next_point_ts_utc,
        {{ first_non_null('first_price') }} over after_this_bucket as next_price,
        {{ first_non_null('is_outlier_point') }} over after_this_bucket as is_next_point_outlier
    from grid_buckets
    window
        before_this_bucket as (
            partition by exchange_id, symbol
            order by bucket_epoch_s
            rows between unbounded preceding and 1 preceding
        ),
        after_this_bucket as (
            partition by exchange_id, symbol
            order by bucket_epoch_s
            rows between 1 following and unbounded following
        )
),

grid_with_distances as (
    select
        *,
        {{ seconds_between('previous_point_ts_utc', 'reference_ts_utc') }}
            as seconds_since_previous,
        {{ seconds_between('reference_ts_utc', 'next_point_ts_utc') }} as seconds_to_next
    from grid_with_neighbour_points
    where not coalesce(is_context, false)
),

grid_filled as (
    select
        *,
        case
            when tick_count_in_bin > 0 then 'observed'
            when has_backfill_bar then 'backfill'
            when
                '{{ var("fill_method_mode") }}' = 'interpolation'
                and seconds_since_previous <= {{ max_fill_s }}
                and seconds_to_next <= {{ max_fill_s }}
                then 'interpolation'
            when seconds_since_previous <= {{ max_fill_s }} then 'forward_fill'
            else 'missing'
        end as fill_method
    from grid_with_distances
),

grid_valued as (
    select
        *,
        case fill_method
            when 'observed' then last_price
            when 'backfill' then last_price
            when 'forward_fill' then previous_price
            when 'interpolation'
                then
                    previous_price
                    + (next_price - previous_price)
                    * {{ seconds_between('previous_point_ts_utc', 'reference_ts_utc') }}
                    / {{ seconds_between('previous_point_ts_utc', 'next_point_ts_utc') }}
        end as price,
        case fill_method
            when 'observed' then {{ seconds_between('last_point_ts_utc', 'reference_ts_utc')
                if reference_offset_s else '0.0' }}
            when 'backfill'
                then greatest(
                    {{ seconds_between('last_point_ts_utc', 'reference_ts_utc') }}, 0.0
                )
            when 'forward_fill' then seconds_since_previous
            when 'interpolation' then least(seconds_since_previous, seconds_to_next)
        end as age_seconds
    from grid_filled
),

final as (
    select
        {{ from_epoch_seconds('bucket_epoch_s') }} as bucket_start_utc,
        bucket_epoch_s,
        date_trunc('hour', {{ from_epoch_seconds('bucket_epoch_s') }}) as bucket_hour_utc,
        exchange_id,
        symbol,
        price,
        fill_method,
        case
            when fill_method = 'observed' then last_point_received_ts_utc
            when fill_method = 'backfill' then last_point_received_ts_utc
            when fill_method = 'forward_fill' then previous_point_received_ts_utc
        end as source_ingestion_ts_utc,
        age_seconds,
        coalesce(age_seconds > {{ var('stale_after_s') }}, true) as is_stale,
        fill_method = 'missing' as is_missing,
        is_watched,
        case fill_method
            when 'observed' then is_outlier_point
            when 'backfill' then false
            when 'forward_fill' then coalesce(is_previous_point_outlier, false)
            when 'interpolation'
                then
                    coalesce(is_previous_point_outlier, false)
                    or coalesce(is_next_point_outlier, false)
            else false
        end as is_outlier,
        tick_count_in_bin,
        cast({{ bin_s }} as {{ sql_type('integer') }}) as bin_seconds,
        cast({{ max_fill_s }} as {{ sql_type('integer') }}) as max_forward_fill_s,
        '{{ var("fill_method_mode") }}' as fill_method_mode,
        '{{ var("grid_age_reference") }}' as age_reference,
        {{ build_started_at() }} as built_at_utc
    from grid_valued
)

select * from final
