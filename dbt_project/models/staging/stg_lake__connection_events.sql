{{ config(materialized='table') }}

with

source as (
    {{ select_from_lake(source('lake', 'connection_events')) }}
),

typed as (
    select
        source_file || '#' || cast(source_row_id as varchar) as event_id,
        date as event_date_utc,
        cast(source_file as varchar) as source_file,
        cast(source_row_id as bigint) as source_row_id,
        case
            when exchange_id is null or exchange_id in ('', '__none__') then null
            else lower(trim(exchange_id))
        end as exchange_id,
        cast(symbol as varchar) as symbol_raw,
        cast(event_ts_utc as timestamptz) as event_ts_utc,
        lower(trim(event_type)) as event_type,
        cast(details_json as varchar) as details_json,
        case
            when json_valid(details_json) then json_extract_string(details_json, '$.reason')
        end as reason,
        cast(worker_id as integer) as worker_id,
        cast(connection_id as varchar) as connection_id
    from source
),

final as (
    select
        *,
        event_type in (
            {%- for event_type in var('connection_event_types') %}
                '{{ event_type }}'{{ "," if not loop.last }}
            {%- endfor %}
        ) as is_known_event_type
    from typed
    qualify row_number() over (
        partition by source_file, source_row_id order by event_ts_utc
    ) = 1
)

select * from final
