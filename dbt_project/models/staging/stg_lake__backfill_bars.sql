-- Usable gap-repair rows (source = 'backfill', REST 1-minute OHLCV), kept apart from live ticks.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
),

final as (
    select
        tick_hour_utc,
        source_file,
        source_row_id,
        tick_date_utc,
        exchange_id,
        symbol,
        base_asset,
        quote_asset,
        exchange_ts_utc as bar_open_utc,
        ingestion_ts_utc as fetched_at_utc,
        open_price,
        high_price,
        low_price,
        price as close_price,
        base_volume,
        built_at_utc
    from market_ticks
    where source = 'backfill' and rejection_reason is null
)

select * from final
