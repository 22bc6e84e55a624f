-- One row per exchange with a usable tick or connection event. binance sorts first on dashboards
-- (exchange_sort_order = 0), the others alphabetically after it.
with

markets as (
    select * from {{ ref('dim_market') }}
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where rejection_reason is null and exchange_id is not null
),

tick_activity as (
    select
        exchange_id,
        min(first_tick_utc) as first_tick_utc,
        max(last_tick_utc) as last_tick_utc,
        cast(sum(live_tick_count) as bigint) as live_tick_count,
        cast(sum(backfill_row_count) as bigint) as backfill_row_count,
        count(*) as symbol_count
    from markets
    group by exchange_id
),

event_activity as (
    select
        exchange_id,
        count(*) as connection_event_count
    from connection_events
    group by exchange_id
),

exchanges as (
    select
        coalesce(tick_activity.exchange_id, event_activity.exchange_id) as exchange_id,
        tick_activity.first_tick_utc,
        tick_activity.last_tick_utc,
        coalesce(tick_activity.live_tick_count, 0) as live_tick_count,
        coalesce(tick_activity.backfill_row_count, 0) as backfill_row_count,
        coalesce(tick_activity.symbol_count, 0) as symbol_count,
        coalesce(event_activity.connection_event_count, 0) as connection_event_count
    from tick_activity
    full outer join event_activity
        on tick_activity.exchange_id = event_activity.exchange_id
),

final as (
    select
        exchange_id,
        cast(
            row_number() over (order by exchange_id != 'binance', exchange_id) - 1 as integer
        ) as exchange_sort_order,
        first_tick_utc,
        last_tick_utc,
        live_tick_count,
        backfill_row_count,
        symbol_count,
        connection_event_count
    from exchanges
)

select * from final
