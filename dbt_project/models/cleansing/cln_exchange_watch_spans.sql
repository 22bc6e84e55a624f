-- What each collector session watched: one row per (source_file, session_start_utc, exchange_id,
-- symbol) with the span [watch_start_utc, watch_end_utc] in which it collected that market.
-- symbol is '*' for the exchange as a whole (every exchange with a usable row in the session);
-- a symbol has its own row when the session landed at least one usable live tick of it. A span
-- starts with its session and ends with it, or earlier at the exchange's first 'collector_stop' or
-- 'exchange_excluded' event in the session. docs/kpi_catalog.md, "Time we were watching".
with

sessions as (
    select * from {{ ref('cln_collector_sessions') }}
),

activity as (
    select * from {{ ref('cln_landing_activity_hourly') }}
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where rejection_reason is null
),

session_bounds as (
    select
        source_file,
        segment_start_utc,
        session_start_utc,
        session_end_utc,
        lead(session_start_utc) over (
            partition by source_file order by session_start_utc
        ) as next_session_start_utc
    from sessions
),

session_markets as (
    select distinct
        source_file,
        segment_start_utc,
        exchange_id,
        '*' as symbol
    from activity
    where exchange_id is not null
    union all
    select distinct
        source_file,
        segment_start_utc,
        exchange_id,
        symbol
    from activity
    where exchange_id is not null and symbol is not null and live_tick_count > 0
),

exchange_stops as (
    select
        source_file,
        exchange_id,
        event_ts_utc
    from connection_events
    where event_type in ('collector_stop', 'exchange_excluded') and exchange_id is not null
),

exchange_ends as (
    select
        session_bounds.source_file,
        session_bounds.session_start_utc,
        exchange_stops.exchange_id,
        min(exchange_stops.event_ts_utc) as stopped_at_utc
    from session_bounds
    inner join exchange_stops
        on
            session_bounds.source_file = exchange_stops.source_file
            and session_bounds.session_start_utc <= exchange_stops.event_ts_utc
            and (
                session_bounds.next_session_start_utc is null
                or session_bounds.next_session_start_utc > exchange_stops.event_ts_utc
            )
    group by all
),

final as (
    select
        session_bounds.source_file,
        session_bounds.session_start_utc,
        session_markets.exchange_id,
        session_markets.symbol,
        session_bounds.session_start_utc as watch_start_utc,
        least(
            session_bounds.session_end_utc,
            coalesce(exchange_ends.stopped_at_utc, session_bounds.session_end_utc)
        ) as watch_end_utc
    from session_markets
    inner join session_bounds
        on
            session_markets.source_file = session_bounds.source_file
            and session_markets.segment_start_utc
            is not distinct from session_bounds.segment_start_utc
    left join exchange_ends
        on
            session_bounds.source_file = exchange_ends.source_file
            and session_bounds.session_start_utc = exchange_ends.session_start_utc
            and session_markets.exchange_id = exchange_ends.exchange_id
)

select * from final
