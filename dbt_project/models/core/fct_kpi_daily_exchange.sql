{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
    (ref('fct_kpi_hourly_exchange_symbol'), 'kpi_hour_utc'),
], 'day') %}

-- Per (kpi_date_utc, exchange_id): the original's vw_core_kpi_daily_exchange roll-up across the
-- exchange's markets, plus our percentiles and clock-skew figures. Statistics are over every
-- latency sample and update interval of the exchange that day (definitions as in
-- fct_latency_daily and fct_update_frequency_daily), not averages of the markets' averages.
-- disconnect_count as fct_disconnects_daily (0 when none). Rows for every exchange-day with a KPI
-- tick or a disconnect.
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }} and is_kpi_tick
),

hourly_markets as (
    select * from {{ ref('fct_kpi_hourly_exchange_symbol') }}
    where kpi_hour_utc >= {{ window_start }}
),

disconnects_daily as (
    select * from {{ ref('fct_disconnects_daily') }}
    where kpi_date_utc >= cast({{ window_start }} as date)
),

latency as (
    select
        tick_date_utc as kpi_date_utc,
        exchange_id,
        count(*) as kpi_tick_count,
        count(*) filter (where latency_ms >= 0) as latency_sample_count,
        avg(latency_ms) filter (where latency_ms >= 0) as avg_latency_ms,
        min(latency_ms) filter (where latency_ms >= 0) as min_latency_ms,
        max(latency_ms) filter (where latency_ms >= 0) as max_latency_ms,
        -- One state for the three percentiles: exact quantiles keep every value in memory.
        {{ exact_quantiles('latency_ms', [0.5, 0.95, 0.99]) }} filter (where latency_ms >= 0)
            as latency_percentiles,
        count(*) filter (where latency_ms < 0) as negative_latency_count,
        -{{ exact_quantile('latency_ms', 0.5) }} filter (where latency_ms < 0)
            as clock_skew_estimate_ms,
        count(*) filter (where exchange_ts_utc is null) as missing_exchange_ts_count
    from tick_quality
    group by tick_date_utc, exchange_id
),

update_intervals as (
    select
        kpi_date_utc,
        exchange_id,
        cast(sum(interval_count) as bigint) as interval_count,
        sum(interval_sum_s) / nullif(sum(interval_count), 0) as avg_update_interval_s,
        min(min_update_interval_s) as min_update_interval_s,
        max(max_update_interval_s) as max_update_interval_s,
        sum(interval_count) / nullif(sum(interval_sum_s), 0) as update_frequency_hz
    from hourly_markets
    group by kpi_date_utc, exchange_id
),

exchange_days as (
    select
        kpi_date_utc,
        exchange_id
    from latency
    union
    select
        kpi_date_utc,
        exchange_id
    from disconnects_daily
),

final as (
    select
        exchange_days.kpi_date_utc,
        exchange_days.exchange_id,
        coalesce(latency.kpi_tick_count, 0) as kpi_tick_count,
        coalesce(latency.latency_sample_count, 0) as latency_sample_count,
        latency.avg_latency_ms,
        latency.min_latency_ms,
        latency.max_latency_ms,
        {{ list_item('latency.latency_percentiles', 1) }} as p50_latency_ms,
        {{ list_item('latency.latency_percentiles', 2) }} as p95_latency_ms,
        {{ list_item('latency.latency_percentiles', 3) }} as p99_latency_ms,
        coalesce(latency.negative_latency_count, 0) as negative_latency_count,
        latency.clock_skew_estimate_ms,
        coalesce(latency.missing_exchange_ts_count, 0) as missing_exchange_ts_count,
        coalesce(update_intervals.interval_count, 0) as interval_count,
        update_intervals.avg_update_interval_s,
        update_intervals.min_update_interval_s,
        update_intervals.max_update_interval_s,
        update_intervals.update_frequency_hz,
        coalesce(disconnects_daily.disconnect_count, 0) as disconnect_count,
        {{ build_started_at() }} as built_at_utc
    from exchange_days
    left join latency
        on
            exchange_days.kpi_date_utc = latency.kpi_date_utc
            and exchange_days.exchange_id = latency.exchange_id
    left join update_intervals
        on
            exchange_days.kpi_date_utc = update_intervals.kpi_date_utc
            and exchange_days.exchange_id = update_intervals.exchange_id
    left join disconnects_daily
        on
            exchange_days.kpi_date_utc = disconnects_daily.kpi_date_utc
            and exchange_days.exchange_id = disconnects_daily.exchange_id
)

select * from final
