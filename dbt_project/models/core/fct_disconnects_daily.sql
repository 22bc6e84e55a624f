{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__connection_events'), 'event_hour_utc'),
], 'day') %}

-- Disconnects per (kpi_date_utc, exchange_id): the number of usable connection events of type
-- 'disconnect' (one per connection) on that UTC day. Like the original, only exchange-days with
-- at least one disconnect have a row; fct_connection_health_daily carries the zero days.
with

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where event_hour_utc >= {{ window_start }} and rejection_reason is null
),

final as (
    select
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id,
        count(*) as disconnect_count,
        {{ build_started_at() }} as built_at_utc
    from connection_events
    where event_type = 'disconnect' and exchange_id is not null
    group by all
)

select * from final
