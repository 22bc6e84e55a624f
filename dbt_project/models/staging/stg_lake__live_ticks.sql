-- Live ticks only (websocket and REST polls): what latency, update frequency and the grid use.
-- Backfilled OHLCV rows are in stg_lake__backfill_bars and never mixed in here.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
),

final as (
    select
        tick_hour_utc,
        tick_date_utc,
        source_file,
        source_row_id,
        exchange_id,
        symbol,
        base_asset,
        quote_asset,
        ingestion_ts_utc,
        exchange_ts_utc,
        exchange_ts_source,
        source,
        price,
        bid,
        ask,
        connection_id
    from market_ticks
    where is_live
)

select * from final
