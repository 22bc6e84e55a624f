-- One row per (exchange_id, symbol): the canonical market an exchange lists (symbol includes the
-- quote: BTC/USD and BTC/USDT are different markets), with the raw symbol spellings that map to it
-- (renames such as XBT/USD -> BTC/USD). Built from the hourly market activity, not the ticks.
with

pair_hourly_activity as (
    select * from {{ ref('cln_pair_hourly_activity') }}
),

markets as (
    select
        exchange_id,
        symbol,
        mode(market_type) as market_type,
        {{ merged_text_lists('raw_symbols') }} as raw_symbols,
        min(first_row_ts_utc) as first_tick_utc,
        max(last_row_ts_utc) as last_tick_utc,
        cast(sum(live_tick_count) as bigint) as live_tick_count,
        cast(sum(backfill_row_count) as bigint) as backfill_row_count
    from pair_hourly_activity
    group by exchange_id, symbol
),

final as (
    select
        exchange_id,
        symbol,
        {{ symbol_base_code('symbol') }} as base_asset,
        {{ symbol_quote_code('symbol') }} as quote_asset,
        market_type,
        raw_symbols,
        first_tick_utc,
        last_tick_utc,
        live_tick_count,
        backfill_row_count
    from markets
)

select * from final
