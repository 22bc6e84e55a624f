{{ config(
    materialized='incremental',
    incremental_strategy='append',
    post_hook="{{ record_loaded_lake_files('market_ticks') }}",
) }}

-- Every lake row of market_ticks, typed, with the reason it is quarantined (rejection_reason, null
-- for a usable row: docs/kpi_catalog.md, "Data-quality policy"). Loaded file by file: each run
-- appends the rows of the lake files it has not loaded yet (macros/lake/select_from_lake.sql).
-- Duplicates (a row landed twice, a file loaded twice) are resolved downstream, per hour.
with

source as {{ inlined() }} (
    {{ select_from_lake(source('lake', 'market_ticks')) }}
),

canonical_assets as (
    select * from {{ ref('canonical_assets') }}
),

lake_rows as {{ inlined() }} (
    select
        *,
        {{ utc_hour('ingestion_ts_utc', 'date') }} as tick_hour_utc
    from source
),

-- Symbols are parsed once per distinct spelling, not once per tick.
symbols_normalized as (
    select
        symbols.symbol_raw,
        symbols.is_parseable,
        coalesce(base_assets.canonical_asset, symbols.base_code) as base_asset,
        coalesce(quote_assets.canonical_asset, symbols.quote_code) as quote_asset,
        symbols.settle_suffix
    from (
        select
            symbol as symbol_raw,
            {{ symbol_is_parseable('symbol') }} as is_parseable,
            {{ symbol_base_code('symbol') }} as base_code,
            {{ symbol_quote_code('symbol') }} as quote_code,
            {{ symbol_settle_suffix('symbol') }} as settle_suffix
        from (select distinct symbol from lake_rows) as distinct_symbols
    ) as symbols
    left join canonical_assets as base_assets
        on symbols.base_code = base_assets.asset_code
    left join canonical_assets as quote_assets
        on symbols.quote_code = quote_assets.asset_code
),

typed as {{ inlined() }} (
    select
        lake_rows.tick_hour_utc,
        lake_rows.date as tick_date_utc,
        cast(lake_rows.source_file as {{ sql_type('varchar') }}) as source_file,
        cast(lake_rows.source_row_id as bigint) as source_row_id,
        lake_rows.lake_file,
        cast(lake_rows.exchange_id as {{ sql_type('varchar') }}) as exchange_id_raw,
        {{ valid_exchange_id('lake_rows.exchange_id') }} as exchange_id,
        cast(lake_rows.symbol as {{ sql_type('varchar') }}) as symbol_raw,
        nullif(lower(trim(lake_rows.market_type)), '') as market_type,
        cast(lake_rows.ingestion_ts_utc as {{ sql_type('timestamptz') }}) as ingestion_ts_utc,
        cast(lake_rows.exchange_ts_ms as bigint) as exchange_ts_ms,
        coalesce(
            {{ from_epoch_millis('cast(lake_rows.exchange_ts_ms as bigint)') }},
            cast(lake_rows.exchange_ts_utc as {{ sql_type('timestamptz') }})
        ) as exchange_ts_any_utc,
        cast(lake_rows.exchange_ts_source as {{ sql_type('varchar') }}) as exchange_ts_source,
        cast(lake_rows.source as {{ sql_type('varchar') }}) as source_raw,
        -- The original databases have no source column: their rows are live websocket ticks.
        coalesce(nullif(lower(trim(lake_rows.source)), ''), 'ws') as source,
        -- The effective price, as the original defines it: price, else last.
        coalesce(cast(lake_rows.price as double), cast(lake_rows.last as double)) as price,
        cast(lake_rows.bid as double) as bid,
        cast(lake_rows.ask as double) as ask,
        cast(lake_rows.last as double) as last_price,
        cast(lake_rows.open as double) as open_price,
        cast(lake_rows.high as double) as high_price,
        cast(lake_rows.low as double) as low_price,
        cast(lake_rows.base_volume as double) as base_volume,
        cast(lake_rows.quote_volume as double) as quote_volume,
        cast(lake_rows.worker_id as {{ sql_type('integer') }}) as worker_id,
        cast(lake_rows.connection_id as {{ sql_type('varchar') }}) as connection_id,
        coalesce(symbols_normalized.is_parseable, false) as is_symbol_parseable,
        symbols_normalized.base_asset,
        symbols_normalized.quote_asset,
        symbols_normalized.settle_suffix
    from lake_rows
    left join symbols_normalized
        on lake_rows.symbol is not distinct from symbols_normalized.symbol_raw
),

-- The first reason that applies, in the documented order.
with_rejection_reason as {{ inlined() }} (
    select
        *,
        case
            when exchange_id is null then 'invalid_exchange_id'
            when not is_symbol_parseable then 'unparseable_symbol'
            when source not in {{ sql_string_list(['ws', 'rest', 'backfill']) }}
                then 'unknown_source'
            when
                exchange_ts_source not in
                {{ sql_string_list(['exchange', 'local_fallback', 'missing']) }}
                then 'unknown_exchange_ts_source'
            when ingestion_ts_utc is null then 'null_ingestion_ts'
            when not {{ is_plausible_ts('ingestion_ts_utc') }} then 'implausible_ingestion_ts'
            when price is null then 'null_price'
            when not {{ is_finite('price') }} then 'non_finite_price'
            when price <= 0 then 'non_positive_price'
            when price > {{ var('max_plausible_price') }} then 'implausible_price'
        end as rejection_reason
    from typed
),

final as (
    select
        tick_hour_utc,
        tick_date_utc,
        source_file,
        source_row_id,
        lake_file,
        exchange_id,
        exchange_id_raw,
        case
            when rejection_reason is not null then null
            when quote_asset is null then base_asset
            else base_asset || '/' || quote_asset || coalesce(settle_suffix, '')
        end as symbol,
        symbol_raw,
        base_asset,
        quote_asset,
        market_type,
        ingestion_ts_utc,
        exchange_ts_ms,
        -- An implausible exchange time is no exchange time (and is flagged).
        case
            when {{ is_plausible_ts('exchange_ts_any_utc') }} then exchange_ts_any_utc
        end as exchange_ts_utc,
        coalesce(not {{ is_plausible_ts('exchange_ts_any_utc') }}, false)
            as has_implausible_exchange_ts,
        exchange_ts_source,
        source,
        source_raw,
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
        rejection_reason,
        {{ build_started_at() }} as built_at_utc
    from with_rejection_reason
)

select * from final
