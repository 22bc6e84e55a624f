{{ config(**incremental_by_unit('activity_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__market_ticks'), 'tick_hour_utc'),
    (ref('stg_lake__connection_events'), 'event_hour_utc'),
]) %}

-- What each landing file (one collector worker) wrote, per UTC hour and collector session: the
-- first and last time of its usable rows (ticks and events) per exchange (null: worker events)
-- and symbol (null: events and backfill rows). A session starts at a 'worker_start' event of the
-- file; rows before a file's first 'worker_start' (files of the original system, workers run by
-- hand) have segment_start_utc null. cln_collector_sessions infers where sessions end from it.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
    where tick_hour_utc >= {{ window_start }} and rejection_reason is null
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where rejection_reason is null
),

rows_in_window as (
    select
        source_file,
        exchange_id,
        case when is_live then symbol end as symbol,
        ingestion_ts_utc as row_ts_utc,
        is_live
    from market_ticks
    union all
    select
        source_file,
        exchange_id,
        null as symbol,
        event_ts_utc as row_ts_utc,
        false as is_live
    from connection_events
    where event_hour_utc >= {{ window_start }}
),

-- Sessions of the files in the window: each worker_start until the file's next one.
session_bounds as (
    select
        source_file,
        event_ts_utc as segment_start_utc,
        lead(event_ts_utc) over (
            partition by source_file order by event_ts_utc, source_row_id
        ) as next_segment_start_utc
    from connection_events
    where
        event_type = 'worker_start'
        and source_file in (select distinct rows_in_window.source_file from rows_in_window)
),

-- A row at a session's start instant belongs to that session; rows before a file's first
-- worker_start have no session (segment_start_utc null).
rows_with_session as (
    select
        rows_in_window.*,
        session_bounds.segment_start_utc
    from rows_in_window
    left join session_bounds
        on
            rows_in_window.source_file = session_bounds.source_file
            and rows_in_window.row_ts_utc >= session_bounds.segment_start_utc
            and (
                session_bounds.next_segment_start_utc is null
                or rows_in_window.row_ts_utc < session_bounds.next_segment_start_utc
            )
),

final as (
    select
        date_trunc('hour', row_ts_utc) as activity_hour_utc,
        source_file,
        segment_start_utc,
        exchange_id,
        symbol,
        min(row_ts_utc) as first_row_ts_utc,
        max(row_ts_utc) as last_row_ts_utc,
        count(*) filter (where is_live) as live_tick_count,
        count(*) as row_count,
        {{ build_started_at() }} as built_at_utc
    from rows_with_session
    group by all
)

select * from final
