-- Usable live ticks only (websocket and REST polls): what latency, update frequency and the grid
-- use. Quarantined rows are in cln_rejected_ticks; backfilled OHLCV rows are in
-- stg_lake__backfill_bars and never mixed in here.
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
        has_implausible_exchange_ts,
        exchange_ts_source,
        source,
        price,
        bid,
        ask,
        last_price,
        base_volume,
        quote_volume,
        connection_id,
        landed_copies,
        built_at_utc
    from market_ticks
    where is_live and rejection_reason is null
)

select * from final
