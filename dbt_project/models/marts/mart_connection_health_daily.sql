-- Connection health per (kpi_date_utc, exchange_id), zero-filled for days without disconnects.
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
        stall_seconds,
        avg_time_to_reconnect_s
    from connection_health_daily
)

select * from final
