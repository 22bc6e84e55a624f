-- One row per collector session of a landing file (one worker process run): when it started and
-- when it stopped. A session starts at a 'worker_start' event (rows of a file written before its
-- first 'worker_start' form one session from its first row). It ends at the first 'worker_stop',
-- 'worker_restart' or 'worker_failed_permanently' event before the file's next 'worker_start';
-- without one (the supervisor was killed, or the session is still running) at the session's last
-- usable row (tick or event): ends_by = 'last_row'. The collector writes the stop it infers after
-- a kill as a 'worker_stop' with details {"inferred": true} at the last committed row.
with

activity as (
    select * from {{ ref('cln_landing_activity_hourly') }}
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where rejection_reason is null
),

lifecycle_events as (
    select
        source_file,
        source_row_id,
        event_ts_utc,
        event_type
    from connection_events
    where
        event_type in ('worker_start', 'worker_stop', 'worker_restart', 'worker_failed_permanently')
),

session_starts as (
    select
        source_file,
        event_ts_utc as segment_start_utc,
        lead(event_ts_utc) over (
            partition by source_file order by event_ts_utc, source_row_id
        ) as next_segment_start_utc
    from lifecycle_events
    where event_type = 'worker_start'
),

first_stop_events as (
    select
        session_starts.source_file,
        session_starts.segment_start_utc,
        min(stops.event_ts_utc) as stop_event_utc,
        min_by(stops.event_type, stops.event_ts_utc) as stop_event_type
    from session_starts
    inner join lifecycle_events as stops
        on
            session_starts.source_file = stops.source_file
            and stops.event_type != 'worker_start'
            and session_starts.segment_start_utc <= stops.event_ts_utc
            and (
                session_starts.next_segment_start_utc is null
                or session_starts.next_segment_start_utc > stops.event_ts_utc
            )
    group by session_starts.source_file, session_starts.segment_start_utc
),

segment_rows as (
    select
        source_file,
        segment_start_utc,
        min(first_row_ts_utc) as first_row_ts_utc,
        max(last_row_ts_utc) as last_row_ts_utc,
        sum(row_count) as row_count
    from activity
    group by source_file, segment_start_utc
),

final as (
    select
        segment_rows.source_file,
        coalesce(segment_rows.segment_start_utc, segment_rows.first_row_ts_utc)
            as session_start_utc,
        segment_rows.segment_start_utc,
        -- A stop recorded before the session's own start cannot end it (clock went back).
        greatest(
            coalesce(first_stop_events.stop_event_utc, segment_rows.last_row_ts_utc),
            coalesce(segment_rows.segment_start_utc, segment_rows.first_row_ts_utc)
        ) as session_end_utc,
        coalesce(first_stop_events.stop_event_type, 'last_row') as ends_by,
        segment_rows.last_row_ts_utc,
        cast(segment_rows.row_count as bigint) as row_count
    from segment_rows
    left join first_stop_events
        on
            segment_rows.source_file = first_stop_events.source_file
            and segment_rows.segment_start_utc = first_stop_events.segment_start_utc
)

select * from final
