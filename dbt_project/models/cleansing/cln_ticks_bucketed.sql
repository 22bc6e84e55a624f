{{ config(**incremental_by_unit('bucket_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
]) %}

-- One row per observed bucket: (exchange_id, symbol, bucket) holding at least one KPI tick (live,
-- no duplicate), with the original's outlier-return check: the return of the bucket's last price
-- against the previous observed bucket of the market; an outlier when its absolute value exceeds
-- dq_outlier_threshold_pct (a fraction: 0.2 = 20 %). Buckets never straddle an hour because
-- bin_seconds divides 3600 (tested).
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }} and is_kpi_tick
),

pair_hourly_activity as (
    select * from {{ ref('cln_pair_hourly_activity') }}
),

ticks_bucketed as (
    select
        exchange_id,
        symbol,
        {{ bucket_epoch_s('ingestion_ts_utc', var('bin_seconds')) }} as bucket_epoch_s,
        count(*) as tick_count_in_bin,
        min(ingestion_ts_utc) as first_tick_ts_utc,
        min_by(price, {{ ordering_key(['ingestion_ts_utc', 'source_file', 'source_row_id']) }})
            as first_price,
        max(ingestion_ts_utc) as last_tick_ts_utc,
        max_by(price, {{ ordering_key(['ingestion_ts_utc', 'source_file', 'source_row_id']) }})
            as last_price
    from tick_quality
    group by all
),

-- The last observed price before the rebuilt hours is the market's last KPI tick before them.
price_before_window as (
    select
        exchange_id,
        symbol,
        max_by(last_tick_price, last_tick_ts_utc) as last_price
    from pair_hourly_activity
    where activity_hour_utc < {{ window_start }}
    group by exchange_id, symbol
),

with_previous as (
    select
        ticks_bucketed.*,
        coalesce(
            lag(ticks_bucketed.last_price) over (
                partition by ticks_bucketed.exchange_id, ticks_bucketed.symbol
                order by ticks_bucketed.bucket_epoch_s
            ),
            price_before_window.last_price
        ) as previous_observed_price
    from ticks_bucketed
    left join price_before_window
        on
            ticks_bucketed.exchange_id = price_before_window.exchange_id
            and ticks_bucketed.symbol = price_before_window.symbol
),

final as (
    select
        exchange_id,
        symbol,
        {{ from_epoch_seconds('bucket_epoch_s') }} as bucket_start_utc,
        bucket_epoch_s,
        date_trunc('hour', {{ from_epoch_seconds('bucket_epoch_s') }}) as bucket_hour_utc,
        tick_count_in_bin,
        first_tick_ts_utc,
        first_price,
        last_tick_ts_utc,
        last_price,
        previous_observed_price,
        last_price / previous_observed_price - 1 as return_ratio,
        coalesce(
            abs(last_price / previous_observed_price - 1) > {{ var('dq_outlier_threshold_pct') }},
            false
        ) as is_outlier_return,
        {{ build_started_at() }} as built_at_utc
    from with_previous
)

select * from final
