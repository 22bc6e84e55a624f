-- Connection lifecycle KPIs per (kpi_date_utc, exchange_id), for every exchange-day with grid
-- data or connection events. From connection events (one disconnect per connection):
--   up/down time   an exchange is up from a 'connected' or 'reconnected' event until its next
--                  'disconnect', and down from a 'disconnect' until its next (re)connect; the last
--                  state lasts until the data horizon (the newest event or grid bucket end).
--                  Segments are split at UTC midnight. uptime_pct = up / (up + down) * 100.
--   stall_seconds  per connection-level 'stale_detected' event (symbol null): the silence
--                  before detection (details_json.silent_s, 0 if absent) plus the time from
--                  detection to the exchange's next (re)connect (or the horizon), counted on the
--                  day of detection.
--                  Symbol-level stalls (symbol set; the connection stays up) are only counted.
--   time to reconnect  from each 'disconnect' to the exchange's next (re)connect; averaged over the
--                  disconnects of the day that were followed by one.
with

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
),

coverage_daily as (
    select * from {{ ref('fct_coverage_daily') }}
),

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

exchange_events as (
    select * from connection_events
    where exchange_id is not null
),

data_horizon as (
    select max(horizon_utc) as horizon_utc
    from (
        select max(event_ts_utc) as horizon_utc from exchange_events
        union all
        select max(bucket_start_utc) + to_seconds({{ var('bin_seconds') }}) from market_grid
    ) as horizons
),

exchange_days as (
    select distinct
        kpi_date_utc,
        exchange_id
    from coverage_daily
    union
    select distinct
        {{ utc_date('event_ts_utc') }} as kpi_date_utc,
        exchange_id
    from exchange_events
),

events_with_next_connect as (
    select
        exchange_id,
        event_ts_utc,
        event_type,
        symbol_raw is null as is_connection_level,
        case
            when json_valid(details_json)
                then try_cast(json_extract_string(details_json, '$.silent_s') as double)
        end as silent_s,
        min(
            case when event_type in ('connected', 'reconnected') then event_ts_utc end
        ) over (
            partition by exchange_id
            order by event_ts_utc, source_file, source_row_id
            rows between 1 following and unbounded following
        ) as next_connect_utc
    from exchange_events
),

state_segments as (
    select
        exchange_events.exchange_id,
        exchange_events.event_type != 'disconnect' as is_up,
        exchange_events.event_ts_utc as segment_start_utc,
        coalesce(
            lead(exchange_events.event_ts_utc) over (
                partition by exchange_events.exchange_id
                order by
                    exchange_events.event_ts_utc,
                    exchange_events.source_file,
                    exchange_events.source_row_id
            ),
            data_horizon.horizon_utc
        ) as segment_end_utc
    from exchange_events
    cross join data_horizon
    where exchange_events.event_type in ('connected', 'reconnected', 'disconnect')
),

segment_days as (
    select
        exchange_id,
        is_up,
        segment_start_utc,
        segment_end_utc,
        unnest(
            generate_series(
                cast({{ utc_date('segment_start_utc') }} as timestamp),
                cast({{ utc_date('segment_end_utc') }} as timestamp),
                interval 1 day
            )
        ) as day_start_naive_utc
    from state_segments
),

segment_day_bounds as (
    select
        exchange_id,
        is_up,
        segment_start_utc,
        segment_end_utc,
        timezone('UTC', day_start_naive_utc) as day_start_utc
    from segment_days
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
    from segment_day_bounds
    group by all
),

stalls_daily as (
    select
        {{ utc_date('events_with_next_connect.event_ts_utc') }} as kpi_date_utc,
        events_with_next_connect.exchange_id,
        count(*) filter (
            where events_with_next_connect.is_connection_level
        ) as stale_detected_count,
        count(*) filter (
            where not events_with_next_connect.is_connection_level
        ) as symbol_stale_detected_count,
        coalesce(sum(
            coalesce(events_with_next_connect.silent_s, 0)
            + {{ seconds_between(
                'events_with_next_connect.event_ts_utc',
                'coalesce(events_with_next_connect.next_connect_utc, data_horizon.horizon_utc)',
            ) }}
        ) filter (where events_with_next_connect.is_connection_level), 0) as stall_seconds
    from events_with_next_connect
    cross join data_horizon
    where events_with_next_connect.event_type = 'stale_detected'
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

final as (
    select
        exchange_days.kpi_date_utc,
        exchange_days.exchange_id,
        coalesce(disconnects_daily.disconnect_count, 0) as disconnect_count,
        coalesce(disconnects_daily.reconnect_count, 0) as reconnect_count,
        disconnects_daily.avg_time_to_reconnect_s,
        coalesce(state_seconds_daily.up_seconds, 0) as up_seconds,
        coalesce(state_seconds_daily.down_seconds, 0) as down_seconds,
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
        coalesce(stalls_daily.stall_seconds, 0) as stall_seconds
    from exchange_days
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
)

select * from final
