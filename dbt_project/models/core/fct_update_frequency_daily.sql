{{ config(materialized='incremental', unique_key='kpi_date_utc') }}

{%- set window_start = incremental_start_day('kpi_date_utc') %}

-- Update frequency per (kpi_date_utc, exchange_id, symbol) over live ticks: the interval is the
-- gap to the previous live tick of the same (exchange_id, symbol) in reception order, kept when
-- > 0, and belongs to the UTC day of the later tick; update_frequency_hz = 1 / avg interval.
-- Incremental by whole UTC days; the first tick of the window measures from the pair's last tick
-- before it.
with

live_ticks as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc
    from {{ ref('stg_lake__live_ticks') }}
    where {{ is_plausible_ts('ingestion_ts_utc') }}
),

window_ticks as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc
    from live_ticks
    where ingestion_ts_utc >= {{ window_start }}
),

last_tick_before_window as (
    select
        exchange_id,
        symbol,
        max(ingestion_ts_utc) as ingestion_ts_utc
    from live_ticks
    where ingestion_ts_utc < {{ window_start }}
    group by exchange_id, symbol
),

tick_intervals as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc,
        {{ seconds_between(
            'lag(ingestion_ts_utc) over (partition by exchange_id, symbol order by ingestion_ts_utc)',
            'ingestion_ts_utc',
        ) }} as update_interval_s
    from (
        select * from window_ticks
        union all
        select * from last_tick_before_window
    ) as ticks
),

final as (
    select
        {{ utc_date('ingestion_ts_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        count(*) as interval_count,
        avg(update_interval_s) as avg_update_interval_s,
        min(update_interval_s) as min_update_interval_s,
        max(update_interval_s) as max_update_interval_s,
        1.0 / avg(update_interval_s) as update_frequency_hz
    from tick_intervals
    where update_interval_s > 0 and ingestion_ts_utc >= {{ window_start }}
    group by all
)

select * from final
