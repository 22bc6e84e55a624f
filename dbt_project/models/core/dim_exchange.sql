-- One row per exchange seen in ticks or connection events. binance sorts first on dashboards
-- (exchange_sort_order = 0), the others alphabetically after it.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
),

tick_activity as (
    select
        exchange_id,
        min(ingestion_ts_utc) as first_tick_utc,
        max(ingestion_ts_utc) as last_tick_utc,
        count(*) filter (where is_live) as live_tick_count,
        count(*) filter (where source = 'backfill') as backfill_row_count,
        count(distinct symbol) as symbol_count
    from market_ticks
    where exchange_id is not null
    group by exchange_id
),

event_activity as (
    select
        exchange_id,
        count(*) as connection_event_count
    from connection_events
    where exchange_id is not null
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
