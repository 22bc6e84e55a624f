{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__connection_events'), 'event_hour_utc'),
    (ref('cln_landing_activity_hourly'), 'activity_hour_utc'),
], 'day') %}

-- Connection lifecycle per (kpi_date_utc, exchange_id), measured only while a collector watched
-- the exchange (cln_watch_intervals, symbol '*'); time with no collector is unobserved, never up
-- or down. Within a watch interval the exchange is up from a 'connected' or 'reconnected' event and
-- down from a 'connecting' or 'disconnect' event, each state lasting until the next such event or
-- the interval's end; before the interval's first such event its state is unknown. Segments are
-- split at UTC midnight.
--   observed_seconds    watched seconds of the day: up_seconds + down_seconds + the watched
--                       seconds whose state is unknown (before a watch interval's first connection
--                       event; a whole interval of an original database without such events)
--   unobserved_seconds  seconds of the day before the data horizon (the newest watch end of any
--                       exchange) in which no collector watched the exchange
--   uptime_pct          up_seconds / (up_seconds + down_seconds) * 100 (null when both are 0)
--   stall_seconds       per connection-level 'stale_detected' (symbol null): the silence before
--                       detection (details_json.silent_s, 0 if absent; never before the interval
--                       start) plus the time to the next (re)connect or the interval end; counted
--                       on the day of detection
--   reconnect_count / avg_time_to_reconnect_s  disconnects followed by a (re)connect in the same
--                       watch interval, and the mean seconds to it
-- Rows for every exchange-day with observed time or a usable event.
with

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where rejection_reason is null and exchange_id is not null
),

watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where symbol = '*'
),

data_horizon as (
    select max(watch_end_utc) as horizon_utc from watch_intervals
),

-- State changes and stalls, each placed in the watch interval it happened in.
interval_events as (
    select
        connection_events.exchange_id,
        connection_events.event_ts_utc,
        connection_events.event_type,
        connection_events.source_file,
        connection_events.source_row_id,
        connection_events.symbol_raw is null as is_connection_level,
        try_cast(
            {{ json_text('connection_events.details_json', '$.silent_s') }} as double
        ) as silent_s,
        watch_intervals.watch_start_utc,
        watch_intervals.watch_end_utc
    from connection_events
    inner join watch_intervals
        on
            connection_events.exchange_id = watch_intervals.exchange_id
            and connection_events.event_ts_utc >= watch_intervals.watch_start_utc
            and connection_events.event_ts_utc <= watch_intervals.watch_end_utc
    where
        connection_events.event_type
        in ('connecting', 'connected', 'reconnected', 'disconnect', 'stale_detected')
),

events_with_next_connect as (
    select
        *,
        min(
            case when event_type in ('connected', 'reconnected') then event_ts_utc end
        ) over (
            partition by exchange_id, watch_start_utc
            order by event_ts_utc, source_file, source_row_id
            rows between 1 following and unbounded following
        ) as next_connect_utc
    from interval_events
),

-- Every connection event starts a segment lasting to the next one or the interval end:
-- 'connecting' and 'disconnect' start a down segment, 'connected' and 'reconnected' an up one.
-- Before an interval's first connection event the state is unknown (neither up nor down).
state_changes as (
    select
        exchange_id,
        watch_start_utc,
        watch_end_utc,
        event_ts_utc as change_utc,
        event_type in ('connected', 'reconnected') as is_up,
        source_file,
        source_row_id
    from interval_events
    where event_type in ('connecting', 'connected', 'reconnected', 'disconnect')
),

-- Watched seconds per day, whether or not the state is known.
watched_days as (
    select
        exchange_id,
        watch_start_utc,
        watch_end_utc,
        {{ utc_day_series(
            utc_date('watch_start_utc'), utc_date('watch_end_utc'), 'day_start_utc'
        ) }}
    from watch_intervals
),

watched_seconds_daily as (
    select
        {{ utc_date('day_start_utc') }} as kpi_date_utc,
        exchange_id,
        sum({{ seconds_between(
            'greatest(watch_start_utc, day_start_utc)',
            'least(watch_end_utc, day_start_utc + interval 1 day)',
        ) }}) as observed_seconds
    from watched_days
    where day_start_utc < watch_end_utc
    group by all
),

state_segments as (
    select
        exchange_id,
        is_up,
        change_utc as segment_start_utc,
        coalesce(
            lead(change_utc) over (
                partition by exchange_id, watch_start_utc
                order by change_utc, source_file, source_row_id
            ),
            watch_end_utc
        ) as segment_end_utc
    from state_changes
),

segment_days as (
    select
        exchange_id,
        is_up,
        segment_start_utc,
        segment_end_utc,
        {{ utc_day_series(
            utc_date('segment_start_utc'), utc_date('segment_end_utc'), 'day_start_utc'
        ) }}
    from state_segments
    where segment_end_utc > segment_start_utc
),

state_seconds_daily as (
    select
        {{ utc_date('day_start_utc') }} as kpi_date_utc,
        exchange_id,
        sum(
            case
                when is_up
                    then {{ seconds_between(
                        'greatest(segment_start_utc, day_start_utc)',
                        'least(segment_end_utc, day_start_utc + interval 1 day)',
                    ) }}
                else 0
            end
        ) as up_seconds,
        sum(
            case
                when not is_up
                    then {{ seconds_between(
                        'greatest(segment_start_utc, day_start_utc)',
                        'least(segment_end_utc, day_start_utc + interval 1 day)',
                    ) }}
                else 0
            end
        ) as down_seconds
    from segment_days
    where day_start_utc < segment_end_utc
    group by all
),

stalls_daily as (
    select
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id,
        count(*) filter (where is_connection_level) as stale_detected_count,
        count(*) filter (where not is_connection_level) as symbol_stale_detected_count,
        coalesce(sum(
            least(
                coalesce(silent_s, 0),
                {{ seconds_between('watch_start_utc', 'event_ts_utc') }}
            )
            + {{ seconds_between(
                'event_ts_utc', 'coalesce(next_connect_utc, watch_end_utc)',
            ) }}
        ) filter (where is_connection_level), 0) as stall_seconds
    from events_with_next_connect
    where event_type = 'stale_detected'
    group by all
),

disconnects_daily as (
    select
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id,
        count(*) as disconnect_count,
        count(next_connect_utc) as reconnect_count,
        avg({{ seconds_between('event_ts_utc', 'next_connect_utc') }}) as avg_time_to_reconnect_s
    from events_with_next_connect
    where event_type = 'disconnect'
    group by all
),

-- Disconnects are counted wherever they happened (the original's KPI 3), reconnects only inside
-- a watch interval.
all_disconnects_daily as (
    select
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id,
        count(*) as disconnect_count
    from connection_events
    where event_type = 'disconnect'
    group by all
),

exchange_days as (
    select
        kpi_date_utc,
        exchange_id
    from watched_seconds_daily
    union
    select distinct
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id
    from connection_events
),

final as (
    select
        exchange_days.kpi_date_utc,
        exchange_days.exchange_id,
        coalesce(all_disconnects_daily.disconnect_count, 0) as disconnect_count,
        coalesce(disconnects_daily.reconnect_count, 0) as reconnect_count,
        disconnects_daily.avg_time_to_reconnect_s,
        coalesce(state_seconds_daily.up_seconds, 0) as up_seconds,
        coalesce(state_seconds_daily.down_seconds, 0) as down_seconds,
        coalesce(watched_seconds_daily.observed_seconds, 0) as observed_seconds,
        greatest(
            {%- set day_start = cast_as('exchange_days.kpi_date_utc', 'timestamptz') %}
            {{ seconds_between(
                day_start,
                'least(' ~ day_start ~ ' + ' ~ interval_of(1, 'day') ~ ','
                ~ ' greatest(data_horizon.horizon_utc, ' ~ day_start ~ '))',
            ) }}
            - coalesce(watched_seconds_daily.observed_seconds, 0),
            0
        ) as unobserved_seconds,
        case
            when state_seconds_daily.up_seconds + state_seconds_daily.down_seconds > 0
                -- the share first, then * 100: up / (up + down) never exceeds 1 in floating
                -- point, while (100 * up) / up can land one ulp above 100
                then
                    100.0 * (
                        state_seconds_daily.up_seconds
                        / (state_seconds_daily.up_seconds + state_seconds_daily.down_seconds)
                    )
        end as uptime_pct,
        coalesce(stalls_daily.stale_detected_count, 0) as stale_detected_count,
        coalesce(stalls_daily.symbol_stale_detected_count, 0) as symbol_stale_detected_count,
        coalesce(stalls_daily.stall_seconds, 0) as stall_seconds,
        {{ build_started_at() }} as built_at_utc
    from exchange_days
    cross join data_horizon
    left join watched_seconds_daily
        on
            exchange_days.kpi_date_utc = watched_seconds_daily.kpi_date_utc
            and exchange_days.exchange_id = watched_seconds_daily.exchange_id
    left join state_seconds_daily
        on
            exchange_days.kpi_date_utc = state_seconds_daily.kpi_date_utc
            and exchange_days.exchange_id = state_seconds_daily.exchange_id
    left join stalls_daily
        on
            exchange_days.kpi_date_utc = stalls_daily.kpi_date_utc
            and exchange_days.exchange_id = stalls_daily.exchange_id
    left join disconnects_daily
        on
            exchange_days.kpi_date_utc = disconnects_daily.kpi_date_utc
            and exchange_days.exchange_id = disconnects_daily.exchange_id
    left join all_disconnects_daily
        on
            exchange_days.kpi_date_utc = all_disconnects_daily.kpi_date_utc
            and exchange_days.exchange_id = all_disconnects_daily.exchange_id
    where exchange_days.kpi_date_utc >= cast({{ window_start }} as date)
)

select * from final
