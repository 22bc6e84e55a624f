{{ config(**incremental_by_unit('activity_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
]) %}

-- Per (activity_hour_utc, exchange_id, symbol): the market's usable ticks in that UTC hour: how
-- many of each kind, its first and last KPI tick (live, no duplicate) and the last one's price.
-- Small (one row per market and hour), so models that need "the market's last tick before the
-- hours being rebuilt" or a market's lifetime look it up here instead of scanning every tick.
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }}
),

final as (
    select
        tick_hour_utc as activity_hour_utc,
        exchange_id,
        symbol,
        count(*) as tick_count,
        count(*) filter (where is_live) as live_tick_count,
        count(*) filter (where is_kpi_tick) as kpi_tick_count,
        count(*) filter (where source = 'backfill') as backfill_row_count,
        min(ingestion_ts_utc) filter (where is_kpi_tick) as first_tick_ts_utc,
        max(ingestion_ts_utc) filter (where is_kpi_tick) as last_tick_ts_utc,
        max_by(
            price, {{ ordering_key(['ingestion_ts_utc', 'source_file', 'source_row_id']) }}
        ) filter (where is_kpi_tick) as last_tick_price,
        min(ingestion_ts_utc) as first_row_ts_utc,
        max(ingestion_ts_utc) as last_row_ts_utc,
        mode(market_type) as market_type,
        {{ sorted_distinct_text('symbol_raw') }} as raw_symbols,
        {{ build_started_at() }} as built_at_utc
    from tick_quality
    group by tick_hour_utc, exchange_id, symbol
)

select * from final
