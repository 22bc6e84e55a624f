{{ config(
    materialized='incremental',
    incremental_strategy='append',
    post_hook="{{ record_loaded_lake_files('connection_events') }}",
) }}

-- Every lake row of connection_events, typed, with the reason it is quarantined (rejection_reason,
-- null for a usable event). Events without an exchange (worker lifecycle) have exchange_id null.
-- Loaded file by file like stg_lake__market_ticks; a lake key already loaded (a file the exporter
-- wrote again after a crash) is skipped, so every event appears once.
with

source as (
    {{ select_from_lake(source('lake', 'connection_events')) }}
),

lake_rows as (
    select
        *,
        {{ utc_hour('event_ts_utc', 'date') }} as event_hour_utc
    from source
    {%- if is_incremental() %}
        where not exists (
            select 1
            from {{ this }} as loaded
            where
                loaded.source_file = source.source_file
                and loaded.source_row_id = source.source_row_id
        )
    {%- endif %}
),

typed as (
    select
        event_hour_utc,
        date as event_date_utc,
        cast(source_file as {{ sql_type('varchar') }}) as source_file,
        cast(source_row_id as bigint) as source_row_id,
        lake_file,
        cast(exchange_id as {{ sql_type('varchar') }}) as exchange_id_raw,
        {{ valid_exchange_id('exchange_id') }} as exchange_id,
        exchange_id is null or exchange_id in ('', '__none__') as is_exchange_less,
        cast(symbol as {{ sql_type('varchar') }}) as symbol_raw,
        cast(event_ts_utc as {{ sql_type('timestamptz') }}) as event_ts_utc,
        lower(trim(event_type)) as event_type,
        cast(details_json as {{ sql_type('varchar') }}) as details_json,
        {{ json_text('details_json', '$.reason') }} as reason,
        cast(worker_id as {{ sql_type('integer') }}) as worker_id,
        cast(connection_id as {{ sql_type('varchar') }}) as connection_id
    from lake_rows
),

final as (
    select
        event_hour_utc,
        event_date_utc,
        source_file,
        source_row_id,
        lake_file,
        event_id,
        exchange_id,
        exchange_id_raw,
        symbol_raw,
        event_ts_utc,
        event_type,
        details_json,
        reason,
        worker_id,
        connection_id,
        case
            when not is_exchange_less and exchange_id is null then 'invalid_exchange_id'
            when event_ts_utc is null then 'null_event_ts'
            when not {{ is_plausible_ts('event_ts_utc') }} then 'implausible_event_ts'
            when
                event_type not in {{ sql_string_list(var('connection_event_types')) }}
                or event_type is null
                then 'unknown_event_type'
        end as rejection_reason,
        {{ build_started_at() }} as built_at_utc
    from (
        select
            *,
            source_file || '#' || cast(source_row_id as {{ sql_type('varchar') }}) as event_id
        from typed
    ) as with_event_id
    qualify row_number() over (
        partition by source_file, source_row_id order by event_ts_utc
    ) = 1
)

select * from final
