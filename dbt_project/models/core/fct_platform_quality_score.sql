-- Platform quality score per exchange over the whole loaded window (0-100, higher is better).
-- Component scores, each 0-100:
--   latency           100 * max(0, 1 - p95_latency_ms / quality_latency_budget_ms)
--   coverage          coverage_pct (observed grid buckets / all grid buckets * 100)
--   update frequency  100 * min(1, update_frequency_hz / quality_target_update_frequency_hz)
--   uptime            uptime_pct
--   disconnects       100 / (1 + disconnects_per_day)
-- quality_score = sum(weight * component) / sum(weight) over the components that are not null;
-- weights are the quality_weight_* vars (default 0.30, 0.25, 0.20, 0.15, 0.10).
with

live_ticks as (
    select * from {{ ref('stg_lake__live_ticks') }}
),

update_frequency_daily as (
    select * from {{ ref('fct_update_frequency_daily') }}
),

coverage_daily as (
    select * from {{ ref('fct_coverage_daily') }}
),

connection_health_daily as (
    select * from {{ ref('fct_connection_health_daily') }}
),

exchanges as (
    select * from {{ ref('dim_exchange') }}
),

latency as (
    select
        exchange_id,
        quantile_cont(latency_ms, 0.95) as p95_latency_ms
    from (
        select
            exchange_id,
            {{ tick_latency_ms('ingestion_ts_utc', 'exchange_ts_utc') }} as latency_ms
        from live_ticks
        where
            {{ is_plausible_ts('ingestion_ts_utc') }}
            and {{ is_plausible_ts('exchange_ts_utc') }}
    ) as tick_latency
    where latency_ms >= 0
    group by exchange_id
),

update_frequency as (
    select
        exchange_id,
        sum(interval_count) / sum(avg_update_interval_s * interval_count) as update_frequency_hz
    from update_frequency_daily
    group by exchange_id
),

coverage as (
    select
        exchange_id,
        100.0 * sum(observed_buckets) / sum(total_buckets) as coverage_pct
    from coverage_daily
    group by exchange_id
),

connection_health as (
    select
        exchange_id,
        sum(disconnect_count) / count(*) as disconnects_per_day,
        case
            when sum(up_seconds + down_seconds) > 0
                then 100.0 * sum(up_seconds) / sum(up_seconds + down_seconds)
        end as uptime_pct
    from connection_health_daily
    group by exchange_id
),

components as (
    select
        exchanges.exchange_id,
        latency.p95_latency_ms,
        update_frequency.update_frequency_hz,
        connection_health.disconnects_per_day,
        coverage.coverage_pct,
        connection_health.uptime_pct,
        100.0 * greatest(
            0.0, 1.0 - latency.p95_latency_ms / {{ var('quality_latency_budget_ms') }}
        ) as latency_score,
        coverage.coverage_pct as coverage_score,
        100.0 * least(
            1.0,
            update_frequency.update_frequency_hz
            / {{ var('quality_target_update_frequency_hz') }}
        ) as update_frequency_score,
        connection_health.uptime_pct as uptime_score,
        100.0 / (1.0 + connection_health.disconnects_per_day) as disconnect_score
    from exchanges
    left join latency on exchanges.exchange_id = latency.exchange_id
    left join update_frequency on exchanges.exchange_id = update_frequency.exchange_id
    left join coverage on exchanges.exchange_id = coverage.exchange_id
    left join connection_health on exchanges.exchange_id = connection_health.exchange_id
),

{%- set weighted_components = [
    ('latency_score', var('quality_weight_latency')),
    ('coverage_score', var('quality_weight_coverage')),
    ('update_frequency_score', var('quality_weight_update_frequency')),
    ('uptime_score', var('quality_weight_uptime')),
    ('disconnect_score', var('quality_weight_disconnects')),
] %}

scored as (
    select
        *,
        (
            {%- for component, weight in weighted_components %}
                coalesce({{ weight }} * {{ component }}, 0){{ " +" if not loop.last }}
            {%- endfor %}
        ) / nullif(
            {%- for component, weight in weighted_components %}
                case when {{ component }} is not null then {{ weight }} else 0 end
                {{- " +" if not loop.last }}
            {%- endfor %},
            0
        ) as quality_score
    from components
),

final as (
    select
        exchange_id,
        cast(
            rank() over (order by quality_score desc nulls last, exchange_id asc) as integer
        ) as quality_rank,
        quality_score,
        latency_score,
        coverage_score,
        update_frequency_score,
        uptime_score,
        disconnect_score,
        p95_latency_ms,
        update_frequency_hz,
        disconnects_per_day,
        coverage_pct,
        uptime_pct
    from scored
)

select * from final
