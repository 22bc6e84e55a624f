-- The comparable time grid: one row per (exchange_id, symbol, bucket_start_utc) over each pair's
-- span (first to last bucket with a live tick or a backfilled bar). Rules
-- (docs/contracts/cleansing_core.md): a bucket's value is its price as of the bucket end
-- r = bucket_start + bin_seconds. A price point is a live tick (at its reception time) or a
-- backfilled 1-minute bar (its close, at the bar's end); in a bucket with both, the ticks win.
--   observed       the bucket has live ticks: the last tick's price
--   backfill       no live tick, but a bar ends in (bucket start, r]: the last such bar's close
--   interpolation  (fill_method_mode = 'interpolation') the last point before r and the first point
--                  after r are both within max_forward_fill_s of r: linear in time at r
--   forward_fill   the last point before r is within max_forward_fill_s of r: its price
--   missing        otherwise: price null
{%- set bar_seconds = 60 %}

with

ticks_bucketed as (
    select * from {{ ref('cln_ticks_bucketed') }}
),

backfill_bars as (
    select * from {{ ref('stg_lake__backfill_bars') }}
),

usable_bars as (
    select
        exchange_id,
        symbol,
        source_file,
        source_row_id,
        fetched_at_utc,
        close_price,
        bar_open_utc + to_seconds({{ bar_seconds }}) as bar_close_utc,
        -- The bucket holding the bar's end: with bin_seconds a multiple of 60, the bucket in
        -- which the bar opens.
        (
            (epoch_us(bar_open_utc) + {{ bar_seconds }} * 1000000 - 1)
            // ({{ var('bin_seconds') }} * 1000000)
        )
        * {{ var('bin_seconds') }} as bucket_epoch_s
    from backfill_bars
    where
        {{ is_plausible_ts('bar_open_utc') }}
        and close_price > 0
        and exchange_id is not null
        and symbol is not null
),

bars_bucketed as (
    select
        exchange_id,
        symbol,
        bucket_epoch_s,
        max(bar_close_utc) as bar_close_utc,
        arg_max(
            close_price,
            {
                'close': bar_close_utc,
                'fetched': fetched_at_utc,
                'file': source_file,
                'row': source_row_id
            }
        ) as close_price,
        arg_max(
            fetched_at_utc,
            {
                'close': bar_close_utc,
                'fetched': fetched_at_utc,
                'file': source_file,
                'row': source_row_id
            }
        ) as fetched_at_utc
    from usable_bars
    group by exchange_id, symbol, bucket_epoch_s
),

-- One row per bucket with a live tick or a bar; a bar alone is one price point at its end.
bucket_observations as (
    select
        coalesce(ticks_bucketed.exchange_id, bars_bucketed.exchange_id) as exchange_id,
        coalesce(ticks_bucketed.symbol, bars_bucketed.symbol) as symbol,
        coalesce(ticks_bucketed.bucket_epoch_s, bars_bucketed.bucket_epoch_s) as bucket_epoch_s,
        coalesce(ticks_bucketed.tick_count_in_bin, 0) as tick_count_in_bin,
        bars_bucketed.bucket_epoch_s is not null as has_backfill_bar,
        coalesce(ticks_bucketed.first_tick_ts_utc, bars_bucketed.bar_close_utc)
            as first_point_ts_utc,
        coalesce(ticks_bucketed.first_price, bars_bucketed.close_price) as first_price,
        coalesce(ticks_bucketed.last_tick_ts_utc, bars_bucketed.bar_close_utc)
            as last_point_ts_utc,
        coalesce(ticks_bucketed.last_price, bars_bucketed.close_price) as last_price,
        coalesce(ticks_bucketed.last_tick_ts_utc, bars_bucketed.fetched_at_utc)
            as last_point_received_ts_utc
    from ticks_bucketed
    full outer join bars_bucketed
        on
            ticks_bucketed.exchange_id = bars_bucketed.exchange_id
            and ticks_bucketed.symbol = bars_bucketed.symbol
            and ticks_bucketed.bucket_epoch_s = bars_bucketed.bucket_epoch_s
),

pair_spans as (
    select
        exchange_id,
        symbol,
        min(bucket_epoch_s) as first_bucket_epoch_s,
        max(bucket_epoch_s) as last_bucket_epoch_s
    from bucket_observations
    group by exchange_id, symbol
),

grid_buckets as (
    select
        exchange_id,
        symbol,
        unnest(
            generate_series(first_bucket_epoch_s, last_bucket_epoch_s, {{ var('bin_seconds') }})
        ) as bucket_epoch_s
    from pair_spans
),

grid_joined_to_observations as (
    select
        grid_buckets.exchange_id,
        grid_buckets.symbol,
        grid_buckets.bucket_epoch_s,
        to_timestamp(grid_buckets.bucket_epoch_s + {{ var('bin_seconds') }}) as bucket_end_utc,
        coalesce(bucket_observations.tick_count_in_bin, 0) as tick_count_in_bin,
        coalesce(bucket_observations.has_backfill_bar, false) as has_backfill_bar,
        bucket_observations.first_point_ts_utc,
        bucket_observations.first_price,
        bucket_observations.last_point_ts_utc,
        bucket_observations.last_price,
        bucket_observations.last_point_received_ts_utc
    from grid_buckets
    left join bucket_observations
        on
            grid_buckets.exchange_id = bucket_observations.exchange_id
            and grid_buckets.symbol = bucket_observations.symbol
            and grid_buckets.bucket_epoch_s = bucket_observations.bucket_epoch_s
),

grid_with_neighbour_points as (
    select
        *,
        last_value(last_point_ts_utc ignore nulls) over up_to_this_bucket
            as previous_point_ts_utc,
        last_value(last_point_received_ts_utc ignore nulls) over up_to_this_bucket
            as previous_point_received_ts_utc,
        last_value(last_price ignore nulls) over up_to_this_bucket as previous_price,
        first_value(first_point_ts_utc ignore nulls) over after_this_bucket as next_point_ts_utc,
        first_value(first_price ignore nulls) over after_this_bucket as next_price
    from grid_joined_to_observations
    window
        up_to_this_bucket as (
            partition by exchange_id, symbol
            order by bucket_epoch_s
            rows between unbounded preceding and current row
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
        {{ seconds_between('previous_point_ts_utc', 'bucket_end_utc') }} as age_seconds,
        {{ seconds_between('bucket_end_utc', 'next_point_ts_utc') }} as seconds_to_next_point
    from grid_with_neighbour_points
),

grid_filled as (
    select
        *,
        case
            when tick_count_in_bin > 0 then 'observed'
            when has_backfill_bar then 'backfill'
            when
                '{{ var("fill_method_mode") }}' = 'interpolation'
                and age_seconds <= {{ var('max_forward_fill_s') }}
                and seconds_to_next_point <= {{ var('max_forward_fill_s') }}
                then 'interpolation'
            when age_seconds <= {{ var('max_forward_fill_s') }} then 'forward_fill'
            else 'missing'
        end as fill_method
    from grid_with_distances
),

final as (
    select
        to_timestamp(bucket_epoch_s) as bucket_start_utc,
        bucket_epoch_s,
        exchange_id,
        symbol,
        case fill_method
            when 'observed' then last_price
            when 'backfill' then last_price
            when 'forward_fill' then previous_price
            when 'interpolation'
                then
                    previous_price
                    + (next_price - previous_price)
                    * {{ seconds_between('previous_point_ts_utc', 'bucket_end_utc') }}
                    / {{ seconds_between('previous_point_ts_utc', 'next_point_ts_utc') }}
        end as price,
        fill_method,
        case
            when fill_method != 'missing' then previous_point_received_ts_utc
        end as source_ingestion_ts_utc,
        age_seconds,
        age_seconds > {{ var('stale_after_s') }} as is_stale,
        fill_method = 'missing' as is_missing,
        tick_count_in_bin,
        cast({{ var('bin_seconds') }} as integer) as bin_seconds,
        cast({{ var('max_forward_fill_s') }} as integer) as max_forward_fill_s,
        '{{ var("fill_method_mode") }}' as fill_method_mode
    from grid_filled
)

select * from final
