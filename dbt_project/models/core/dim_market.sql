-- One row per (exchange_id, symbol): the canonical market an exchange lists, with the raw symbol
-- spellings that map to it (renames such as XBT/USD -> BTC/USD).
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
),

final as (
    select
        exchange_id,
        symbol,
        any_value(base_asset) as base_asset,
        any_value(quote_asset) as quote_asset,
        mode(market_type) as market_type,
        string_agg(distinct symbol_raw, ',' order by symbol_raw) as raw_symbols,
        min(ingestion_ts_utc) as first_tick_utc,
        max(ingestion_ts_utc) as last_tick_utc,
        count(*) filter (where is_live) as live_tick_count
    from market_ticks
    where exchange_id is not null and symbol is not null
    group by exchange_id, symbol
)

select * from final
