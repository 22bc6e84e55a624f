-- The comparable time grid: one row per (exchange_id, symbol, bucket_start_utc) over each pair's
-- observed span (first to last bucket with a tick). Rules (docs/contracts/cleansing_core.md):
-- a bucket's value is its price as of the bucket end r = bucket_start + bin_seconds.
--   observed       the bucket has ticks: the last tick's price
--   interpolation  (fill_method_mode = 'interpolation') the last tick before r and the first tick
--                  after r are both within max_forward_fill_s of r: linear in time at r
--   forward_fill   the last tick before r is within max_forward_fill_s of r: its price
--   missing        otherwise: price null
with

ticks_bucketed as (
    select * from {{ ref('cln_ticks_bucketed') }}
),

pair_spans as (
    select
        exchange_id,
        symbol,
        min(bucket_epoch_s) as first_bucket_epoch_s,
        max(bucket_epoch_s) as last_bucket_epoch_s
    from ticks_bucketed
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
        coalesce(ticks_bucketed.tick_count_in_bin, 0) as tick_count_in_bin,
        ticks_bucketed.first_tick_ts_utc,
        ticks_bucketed.first_price,
        ticks_bucketed.last_tick_ts_utc,
        ticks_bucketed.last_price
    from grid_buckets
    left join ticks_bucketed
        on
            grid_buckets.exchange_id = ticks_bucketed.exchange_id
            and grid_buckets.symbol = ticks_bucketed.symbol
            and grid_buckets.bucket_epoch_s = ticks_bucketed.bucket_epoch_s
),

grid_with_neighbour_ticks as (
    select
        *,
        last_value(last_tick_ts_utc ignore nulls) over up_to_this_bucket as previous_tick_ts_utc,
        last_value(last_price ignore nulls) over up_to_this_bucket as previous_price,
        first_value(first_tick_ts_utc ignore nulls) over after_this_bucket as next_tick_ts_utc,
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
        {{ seconds_between('previous_tick_ts_utc', 'bucket_end_utc') }} as age_seconds,
        {{ seconds_between('bucket_end_utc', 'next_tick_ts_utc') }} as seconds_to_next_tick
    from grid_with_neighbour_ticks
),

grid_filled as (
    select
        *,
        case
            when tick_count_in_bin > 0 then 'observed'
            when
                '{{ var("fill_method_mode") }}' = 'interpolation'
                and age_seconds <= {{ var('max_forward_fill_s') }}
                and seconds_to_next_tick <= {{ var('max_forward_fill_s') }}
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
            when 'forward_fill' then previous_price
            when 'interpolation'
                then
                    previous_price
                    + (next_price - previous_price)
                    * {{ seconds_between('previous_tick_ts_utc', 'bucket_end_utc') }}
                    / {{ seconds_between('previous_tick_ts_utc', 'next_tick_ts_utc') }}
        end as price,
        fill_method,
        case when fill_method != 'missing' then previous_tick_ts_utc end as source_ingestion_ts_utc,
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
