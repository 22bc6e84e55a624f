{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
], 'day') %}

-- Latency per (kpi_date_utc, exchange_id, symbol) over KPI ticks (usable live ticks that are no
-- duplicate), kpi_date_utc = the UTC day of reception. Per tick latency_ms = reception time -
-- exchange time; a sample when both exist and latency_ms >= 0. Negative values (the exchange's
-- clock ahead of ours) are no sample: they are counted, and their median, sign flipped, is the
-- clock_skew_estimate_ms. Rows for every market-day with a KPI tick; statistics are null when it
-- has no sample. latency_over_limit_count counts samples above latency_limit_ms (the original's
-- 600,000 ms assertion, now a monitored check).
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }} and is_kpi_tick
),

aggregated as (
    select
        tick_date_utc as kpi_date_utc,
        exchange_id,
        symbol,
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
        count(*) filter (where exchange_ts_utc is null) as missing_exchange_ts_count,
        count(*) filter (where latency_ms > {{ var('latency_limit_ms') }})
            as latency_over_limit_count,
        {{ build_started_at() }} as built_at_utc
    from tick_quality
    group by tick_date_utc, exchange_id, symbol
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        symbol,
        kpi_tick_count,
        latency_sample_count,
        avg_latency_ms,
        min_latency_ms,
        max_latency_ms,
        {{ list_item('latency_percentiles', 1) }} as p50_latency_ms,
        {{ list_item('latency_percentiles', 2) }} as p95_latency_ms,
        {{ list_item('latency_percentiles', 3) }} as p99_latency_ms,
        negative_latency_count,
        clock_skew_estimate_ms,
        missing_exchange_ts_count,
        latency_over_limit_count,
        built_at_utc
    from aggregated
)

select * from final
