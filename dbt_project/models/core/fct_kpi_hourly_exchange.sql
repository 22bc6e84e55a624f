{{ config(**incremental_by_unit('kpi_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('fct_kpi_hourly_exchange_symbol'), 'kpi_hour_utc'),
]) %}

-- Latency and update frequency per (kpi_hour_utc, exchange_id) over all the exchange's markets:
-- the original's vw_core_kpi_hourly_exchange. Statistics are over every sample and interval of
-- the hour (not averages of the markets' averages); same definitions as
-- fct_kpi_hourly_exchange_symbol, from which it is rolled up exactly.
with

hourly_markets as (
    select * from {{ ref('fct_kpi_hourly_exchange_symbol') }}
    where kpi_hour_utc >= {{ window_start }}
),

final as (
    select
        kpi_hour_utc,
        min(kpi_date_utc) as kpi_date_utc,
        exchange_id,
        count(*) as market_count,
        cast(sum(kpi_tick_count) as bigint) as kpi_tick_count,
        cast(sum(latency_sample_count) as bigint) as latency_sample_count,
        sum(latency_sum_ms) / nullif(sum(latency_sample_count), 0) as avg_latency_ms,
        min(min_latency_ms) as min_latency_ms,
        max(max_latency_ms) as max_latency_ms,
        cast(sum(negative_latency_count) as bigint) as negative_latency_count,
        cast(sum(latency_over_limit_count) as bigint) as latency_over_limit_count,
        cast(sum(interval_count) as bigint) as interval_count,
        sum(interval_sum_s) / nullif(sum(interval_count), 0) as avg_update_interval_s,
        min(min_update_interval_s) as min_update_interval_s,
        max(max_update_interval_s) as max_update_interval_s,
        sum(interval_count) / nullif(sum(interval_sum_s), 0) as update_frequency_hz,
        max(disconnect_count) as disconnect_count,
        {{ build_started_at() }} as built_at_utc
    from hourly_markets
    group by kpi_hour_utc, exchange_id
)

select * from final
