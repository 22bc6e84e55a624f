{{ config(materialized='incremental', unique_key='tick_hour_utc') }}

{%- set window_start = incremental_start_hour('tick_hour_utc') %}

with

-- `not materialized` here and below: read the lake twice (symbols, duplicates) rather than
-- buffer millions of rows in memory.
source as not materialized (
    {{ select_from_lake(source('lake', 'market_ticks')) }}
),

canonical_assets as (
    select * from {{ ref('canonical_assets') }}
),

in_window as not materialized (
    select
        *,
        {{ utc_hour('ingestion_ts_utc', 'date') }} as tick_hour_utc
    from source
    -- The window start is a whole hour: comparing the raw timestamp lets DuckDB skip row groups.
    where
        date >= cast({{ window_start }} as date)
        and (
            ingestion_ts_utc >= {{ window_start }}
            or (ingestion_ts_utc is null and cast(date as timestamptz) >= {{ window_start }})
        )
),

-- Symbols are parsed once per distinct spelling, not once per tick.
symbols_normalized as (
    select
        symbols.symbol_raw,
        coalesce(base_assets.canonical_asset, symbols.base_code) as base_asset,
        coalesce(quote_assets.canonical_asset, symbols.quote_code) as quote_asset,
        symbols.settle_suffix
    from (
        select
            symbol as symbol_raw,
            {{ symbol_base_code('symbol') }} as base_code,
            {{ symbol_quote_code('symbol') }} as quote_code,
            {{ symbol_settle_suffix('symbol') }} as settle_suffix
        from (select distinct symbol from in_window) as distinct_symbols
    ) as symbols
    left join canonical_assets as base_assets
        on symbols.base_code = base_assets.asset_code
    left join canonical_assets as quote_assets
        on symbols.quote_code = quote_assets.asset_code
),

typed as not materialized (
    select
        tick_hour_utc,
        date as tick_date_utc,
        cast(source_file as varchar) as source_file,
        cast(source_row_id as bigint) as source_row_id,
        nullif(lower(trim(exchange_id)), '') as exchange_id,
        cast(symbol as varchar) as symbol_raw,
        nullif(lower(trim(market_type)), '') as market_type,
        cast(ingestion_ts_utc as timestamptz) as ingestion_ts_utc,
        cast(exchange_ts_ms as bigint) as exchange_ts_ms,
        coalesce(
            timezone('UTC', epoch_ms(cast(exchange_ts_ms as bigint))),
            cast(exchange_ts_utc as timestamptz)
        ) as exchange_ts_utc,
        cast(exchange_ts_source as varchar) as exchange_ts_source,
        coalesce(nullif(lower(trim(source)), ''), 'ws') as source,
        cast(price as double) as price,
        cast(bid as double) as bid,
        cast(ask as double) as ask,
        cast(last as double) as last_price,
        cast(open as double) as open_price,
        cast(high as double) as high_price,
        cast(low as double) as low_price,
        cast(base_volume as double) as base_volume,
        cast(quote_volume as double) as quote_volume,
        cast(worker_id as integer) as worker_id,
        cast(connection_id as varchar) as connection_id
    from in_window
),

-- Exact duplicates: the same update landed more than once (replayed frame, re-exported file).
-- Found with one aggregation (cheap: almost every key is unique); the first landed row is kept.
exact_duplicates as (
    select
        exchange_id,
        symbol_raw,
        ingestion_ts_utc,
        exchange_ts_utc,
        price,
        count(*) as landed_copies
    from typed
    group by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
    having count(*) > 1
),

-- Every tick with the number of times it landed (1 unless it is in exact_duplicates).
with_copies as not materialized (
    select
        typed.*,
        coalesce(exact_duplicates.landed_copies, 1) as landed_copies
    from typed
    left join exact_duplicates
        on
            typed.exchange_id is not distinct from exact_duplicates.exchange_id
            and typed.symbol_raw is not distinct from exact_duplicates.symbol_raw
            and typed.ingestion_ts_utc is not distinct from exact_duplicates.ingestion_ts_utc
            and typed.exchange_ts_utc is not distinct from exact_duplicates.exchange_ts_utc
            and typed.price is not distinct from exact_duplicates.price
),

-- One row per duplicate group, the first landed; also when a file was exported twice and the
-- copies share (source_file, source_row_id).
first_of_duplicates as (
    select distinct on (exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price) *
    from with_copies
    where landed_copies > 1
    order by
        exchange_id,
        symbol_raw,
        ingestion_ts_utc,
        exchange_ts_utc,
        price,
        source_file,
        source_row_id
),

deduplicated as (
    select * from with_copies
    where landed_copies = 1
    union all
    select * from first_of_duplicates
),

final as (
    select
        deduplicated.tick_hour_utc,
        deduplicated.tick_date_utc,
        deduplicated.source_file,
        deduplicated.source_row_id,
        deduplicated.exchange_id,
        case
            when symbols_normalized.quote_asset is null then symbols_normalized.base_asset
            else
                symbols_normalized.base_asset || '/' || symbols_normalized.quote_asset
                || coalesce(symbols_normalized.settle_suffix, '')
        end as symbol,
        deduplicated.symbol_raw,
        symbols_normalized.base_asset,
        symbols_normalized.quote_asset,
        deduplicated.market_type,
        deduplicated.ingestion_ts_utc,
        deduplicated.exchange_ts_ms,
        deduplicated.exchange_ts_utc,
        deduplicated.exchange_ts_source,
        deduplicated.source,
        deduplicated.source in ('ws', 'rest') as is_live,
        deduplicated.price,
        deduplicated.bid,
        deduplicated.ask,
        deduplicated.last_price,
        deduplicated.open_price,
        deduplicated.high_price,
        deduplicated.low_price,
        deduplicated.base_volume,
        deduplicated.quote_volume,
        deduplicated.worker_id,
        deduplicated.connection_id,
        deduplicated.landed_copies
    from deduplicated
    left join symbols_normalized
        on deduplicated.symbol_raw is not distinct from symbols_normalized.symbol_raw
)

select * from final
