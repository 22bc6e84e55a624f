-- Disconnects per (kpi_date_utc, exchange_id): the number of connection events of type
-- 'disconnect' (one per connection) on that UTC day. Like the original, only exchange-days with
-- at least one disconnect have a row; mart_connection_health_daily carries the zero days.
with

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
),

final as (
    select
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id,
        count(*) as disconnect_count
    from connection_events
    where event_type = 'disconnect' and exchange_id is not null
    group by all
)

select * from final
