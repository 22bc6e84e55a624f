{{ config(materialized='incremental', unique_key='bucket_hour_utc') }}

{%- set window_start = incremental_start_hour('bucket_hour_utc') %}

-- One row per (exchange_id, symbol, bucket) that holds at least one usable live tick: the
-- expensive tick scan of the grid, kept incremental by UTC hour. Buckets never straddle an hour
-- because bin_seconds divides 3600 (asserted in cln_market_grid's tests).
with

live_ticks as (
    select * from {{ ref('stg_lake__live_ticks') }}
),

usable_ticks as (
    select
        source_file,
        source_row_id,
        exchange_id,
        symbol,
        ingestion_ts_utc,
        price,
        (epoch_us(ingestion_ts_utc) // ({{ var('bin_seconds') }} * 1000000))
        * {{ var('bin_seconds') }} as bucket_epoch_s
    from live_ticks
    where
        tick_date_utc >= cast({{ window_start }} as date)
        and tick_hour_utc >= {{ window_start }}
        and {{ is_plausible_ts('ingestion_ts_utc') }}
        and price > 0
        and exchange_id is not null
        and symbol is not null
),

ticks_bucketed as (
    select
        exchange_id,
        symbol,
        bucket_epoch_s,
        count(*) as tick_count_in_bin,
        min(ingestion_ts_utc) as first_tick_ts_utc,
        arg_min(price, { 'ts': ingestion_ts_utc, 'file': source_file, 'row': source_row_id })
            as first_price,
        max(ingestion_ts_utc) as last_tick_ts_utc,
        arg_max(price, { 'ts': ingestion_ts_utc, 'file': source_file, 'row': source_row_id })
            as last_price
    from usable_ticks
    group by exchange_id, symbol, bucket_epoch_s
),

final as (
    select
        exchange_id,
        symbol,
        to_timestamp(bucket_epoch_s) as bucket_start_utc,
        bucket_epoch_s,
        date_trunc('hour', to_timestamp(bucket_epoch_s)) as bucket_hour_utc,
        tick_count_in_bin,
        first_tick_ts_utc,
        first_price,
        last_tick_ts_utc,
        last_price
    from ticks_bucketed
)

select * from final
