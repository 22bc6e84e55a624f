{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='tick_date_utc',
        on_schema_change='fail',
    )
}}

with

source as (
    {{ select_from_lake(source('lake', 'market_ticks')) }}
),

canonical_assets as (
    select * from {{ ref('canonical_assets') }}
),

in_window as (
    select * from source
    where date >= {{ incremental_start_date('tick_date_utc') }}
),

typed as (
    select
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
        cast(connection_id as varchar) as connection_id,
        {{ symbol_base_code('symbol') }} as base_code,
        {{ symbol_quote_code('symbol') }} as quote_code,
        {{ symbol_settle_suffix('symbol') }} as settle_suffix
    from in_window
),

normalized as (
    select
        typed.*,
        coalesce(base_assets.canonical_asset, typed.base_code) as base_asset,
        coalesce(quote_assets.canonical_asset, typed.quote_code) as quote_asset
    from typed
    left join canonical_assets as base_assets
        on typed.base_code = base_assets.asset_code
    left join canonical_assets as quote_assets
        on typed.quote_code = quote_assets.asset_code
),

-- Exact duplicates: the same update landed more than once (replayed frame, re-exported file).
deduplicated as (
    select
        *,
        count(*) over exact_duplicate_key as landed_copies
    from normalized
    window
        exact_duplicate_key as (
            partition by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
        )
    qualify row_number() over (
        exact_duplicate_key order by source_file, source_row_id
    ) = 1
),

final as (
    select
        source_file || '#' || cast(source_row_id as varchar) as tick_id,
        tick_date_utc,
        source_file,
        source_row_id,
        exchange_id,
        case
            when quote_asset is null then base_asset
            else base_asset || '/' || quote_asset || coalesce(settle_suffix, '')
        end as symbol,
        symbol_raw,
        base_asset,
        quote_asset,
        market_type,
        ingestion_ts_utc,
        exchange_ts_ms,
        exchange_ts_utc,
        exchange_ts_source,
        source,
        source in ('ws', 'rest') as is_live,
        price,
        bid,
        ask,
        last_price,
        open_price,
        high_price,
        low_price,
        base_volume,
        quote_volume,
        worker_id,
        connection_id,
        landed_copies
    from deduplicated
)

select * from final
