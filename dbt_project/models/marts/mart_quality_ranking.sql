-- Exchanges ranked by platform quality score over the newest quality_window_days, one row per
-- exchange_id.
with

quality_score as (
    select * from {{ ref('fct_platform_quality_score') }}
),

final as (
    select
        exchange_id,
        quality_rank,
        quality_score,
        p95_latency_ms,
        update_frequency_hz,
        disconnects_per_day,
        live_coverage_pct,
        uptime_pct,
        window_first_day_utc,
        window_last_day_utc
    from quality_score
)

select * from final
