-- Platform quality score per exchange over the newest quality_window_days UTC days (0-100, higher
-- is better); the window ends on the newest day any daily KPI has. Inputs over the window:
--   p95_latency_ms       mean of the exchange's daily p95 latency (fct_kpi_daily_exchange) over
--                        the days that have latency samples
--   live_coverage_pct    sum(observed buckets) / sum(watched buckets) * 100 (fct_coverage_daily)
--   update_frequency_hz  sum(intervals) / sum(interval seconds) (fct_update_frequency_daily)
--   uptime_pct           sum(up_seconds) / sum(up_seconds + down_seconds) * 100
--   disconnects_per_day  sum(disconnect_count) / days with observed time
--                        (fct_connection_health_daily)
-- Component scores, each 0-100, null when its input is null:
--   latency           100 * max(0, 1 - p95_latency_ms / quality_latency_budget_ms)
--   coverage          live_coverage_pct
--   update frequency  100 * min(1, update_frequency_hz / quality_target_update_frequency_hz)
--   uptime            uptime_pct
--   disconnects       100 / (1 + disconnects_per_day)
-- quality_score = sum(weight * component) / sum(weight) over the components that are not null;
-- weights are the quality_weight_* vars (default 0.30, 0.25, 0.20, 0.15, 0.10). Null (ranked
-- last) when none of the market-data components (latency, coverage, update frequency) exists:
-- connection events alone do not score an exchange whose data we never saw.
with

daily_exchange as (
    select * from {{ ref('fct_kpi_daily_exchange') }}
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

score_window as (
    select
        newest_day - {{ var('quality_window_days') - 1 }} as first_day,
        newest_day as last_day
    from (
        select max(kpi_date_utc) as newest_day
        from (
            select kpi_date_utc from daily_exchange
            union all
            select kpi_date_utc from connection_health_daily
            union all
            select kpi_date_utc from coverage_daily
        ) as kpi_days
    ) as newest
),

latency as (
    select
        daily_exchange.exchange_id,
        avg(daily_exchange.p95_latency_ms) as p95_latency_ms
    from daily_exchange
    cross join score_window
    where daily_exchange.kpi_date_utc between score_window.first_day and score_window.last_day
    group by daily_exchange.exchange_id
),

update_frequency as (
    select
        update_frequency_daily.exchange_id,
        sum(update_frequency_daily.interval_count)
        / sum(update_frequency_daily.avg_update_interval_s * update_frequency_daily.interval_count)
            as update_frequency_hz
    from update_frequency_daily
    cross join score_window
    where
        update_frequency_daily.kpi_date_utc
        between score_window.first_day and score_window.last_day
    group by update_frequency_daily.exchange_id
),

coverage as (
    select
        coverage_daily.exchange_id,
        100 * sum(coverage_daily.observed_buckets)
        / nullif(sum(coverage_daily.watched_buckets), 0) as live_coverage_pct
    from coverage_daily
    cross join score_window
    where coverage_daily.kpi_date_utc between score_window.first_day and score_window.last_day
    group by coverage_daily.exchange_id
),

connection_health as (
    select
        connection_health_daily.exchange_id,
        sum(connection_health_daily.disconnect_count)
        / nullif(count(*) filter (where connection_health_daily.observed_seconds > 0), 0)
            as disconnects_per_day,
        100.0 * sum(connection_health_daily.up_seconds)
        / nullif(sum(connection_health_daily.up_seconds + connection_health_daily.down_seconds), 0)
            as uptime_pct
    from connection_health_daily
    cross join score_window
    where
        connection_health_daily.kpi_date_utc
        between score_window.first_day and score_window.last_day
    group by connection_health_daily.exchange_id
),

components as (
    select
        exchanges.exchange_id,
        latency.p95_latency_ms,
        update_frequency.update_frequency_hz,
        connection_health.disconnects_per_day,
        coverage.live_coverage_pct,
        connection_health.uptime_pct,
        case
            when latency.p95_latency_ms is not null
                then 100.0 * greatest(
                    0.0, 1.0 - latency.p95_latency_ms / {{ var('quality_latency_budget_ms') }}
                )
        end as latency_score,
        coverage.live_coverage_pct as coverage_score,
        case
            when update_frequency.update_frequency_hz is not null
                then 100.0 * least(
                    1.0,
                    update_frequency.update_frequency_hz
                    / {{ var('quality_target_update_frequency_hz') }}
                )
        end as update_frequency_score,
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
        case
            when coalesce(latency_score, coverage_score, update_frequency_score) is not null
                then (
                    {%- for component, weight in weighted_components %}
                        coalesce({{ weight }} * {{ component }}, 0){{ " +" if not loop.last }}
                    {%- endfor %}
                ) / (
                    {%- for component, weight in weighted_components %}
                        case when {{ component }} is not null then {{ weight }} else 0 end
                        {{- " +" if not loop.last }}
                    {%- endfor %}
                )
        end as quality_score
    from components
),

final as (
    select
        scored.exchange_id,
        cast(
            rank() over (order by scored.quality_score desc nulls last, scored.exchange_id asc)
            as integer
        ) as quality_rank,
        scored.quality_score,
        scored.latency_score,
        scored.coverage_score,
        scored.update_frequency_score,
        scored.uptime_score,
        scored.disconnect_score,
        scored.p95_latency_ms,
        scored.update_frequency_hz,
        scored.disconnects_per_day,
        scored.live_coverage_pct,
        scored.uptime_pct,
        score_window.first_day as window_first_day_utc,
        score_window.last_day as window_last_day_utc
    from scored
    cross join score_window
)

select * from final
