{{ config(**incremental_by_unit('event_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__connection_events'), 'event_hour_utc'),
]) %}

-- The quarantine for connection events: one row per lake row of connection_events the warehouse
-- cannot use, with its lake key and the reason (docs/kpi_catalog.md, "Data-quality policy").
with

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where event_hour_utc >= {{ window_start }}
),

final as (
    select
        event_hour_utc,
        event_date_utc,
        source_file,
        source_row_id,
        exchange_id_raw,
        event_type,
        event_ts_utc,
        rejection_reason,
        {{ build_started_at() }} as built_at_utc
    from connection_events
    where rejection_reason is not null
)

select * from final
