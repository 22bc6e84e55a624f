{{ config(materialized=reshaping_materialization()) }}

-- Connection health per (kpi_date_utc, exchange_id): every exchange-day with observed time or an
-- event, zero-filled for days without disconnects; observed and unobserved time side by side.
with

connection_health_daily as (
    select * from {{ ref('fct_connection_health_daily') }}
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        disconnect_count,
        uptime_pct,
        observed_seconds,
        unobserved_seconds,
        stall_seconds,
        avg_time_to_reconnect_s
    from connection_health_daily
)

select * from final
