{{ config(materialized='incremental', unique_key='kpi_date_utc') }}

{%- set window_start = incremental_start_day('kpi_date_utc') %}

-- Latency per (kpi_date_utc, exchange_id, symbol) over live ticks: latency_ms = ingestion time -
-- exchange time, kept when both exist and latency_ms >= 0. kpi_date_utc = UTC date of reception.
-- A timestamp outside the plausible range counts as unparseable, i.e. as not existing.
-- Incremental by whole UTC days (percentiles need every sample of the day).
with

live_ticks as (
    select * from {{ ref('stg_lake__live_ticks') }}
    where ingestion_ts_utc >= {{ window_start }}
),

tick_latency as (
    select
        {{ utc_date('ingestion_ts_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        {{ tick_latency_ms('ingestion_ts_utc', 'exchange_ts_utc') }} as latency_ms
    from live_ticks
    where
        {{ is_plausible_ts('ingestion_ts_utc') }}
        and {{ is_plausible_ts('exchange_ts_utc') }}
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        symbol,
        count(*) as latency_sample_count,
        avg(latency_ms) as avg_latency_ms,
        min(latency_ms) as min_latency_ms,
        max(latency_ms) as max_latency_ms,
        quantile_cont(latency_ms, 0.5) as p50_latency_ms,
        quantile_cont(latency_ms, 0.95) as p95_latency_ms,
        quantile_cont(latency_ms, 0.99) as p99_latency_ms
    from tick_latency
    where latency_ms >= 0
    group by kpi_date_utc, exchange_id, symbol
)

select * from final
