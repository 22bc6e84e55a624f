{{ config(materialized='incremental', unique_key='tick_hour_utc') }}

{%- set window_start = staging_window_start('tick_hour_utc') %}

-- Every lake row of market_ticks, typed, with the reason it is quarantined (rejection_reason, null
-- for a usable row: docs/kpi_catalog.md, "Data-quality policy"). Usable rows that landed more than
-- once with the same content are collapsed to their first landed row (landed_copies counts them).
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
        from (select distinct symbol from in_window) as distinct_symbols
    ) as symbols
    left join canonical_assets as base_assets
        on symbols.base_code = base_assets.asset_code
    left join canonical_assets as quote_assets
        on symbols.quote_code = quote_assets.asset_code
),

typed as not materialized (
    select
        in_window.tick_hour_utc,
        in_window.date as tick_date_utc,
        cast(in_window.source_file as varchar) as source_file,
        cast(in_window.source_row_id as bigint) as source_row_id,
        cast(in_window.exchange_id as varchar) as exchange_id_raw,
        {{ valid_exchange_id('in_window.exchange_id') }} as exchange_id,
        cast(in_window.symbol as varchar) as symbol_raw,
        nullif(lower(trim(in_window.market_type)), '') as market_type,
        cast(in_window.ingestion_ts_utc as timestamptz) as ingestion_ts_utc,
        cast(in_window.exchange_ts_ms as bigint) as exchange_ts_ms,
        coalesce(
            timezone('UTC', epoch_ms(cast(in_window.exchange_ts_ms as bigint))),
            cast(in_window.exchange_ts_utc as timestamptz)
        ) as exchange_ts_any_utc,
        cast(in_window.exchange_ts_source as varchar) as exchange_ts_source,
        cast(in_window.source as varchar) as source_raw,
        -- The original databases have no source column: their rows are live websocket ticks.
        coalesce(nullif(lower(trim(in_window.source)), ''), 'ws') as source,
        -- The effective price, as the original defines it: price, else last.
        coalesce(cast(in_window.price as double), cast(in_window.last as double)) as price,
        cast(in_window.bid as double) as bid,
        cast(in_window.ask as double) as ask,
        cast(in_window.last as double) as last_price,
        cast(in_window.open as double) as open_price,
        cast(in_window.high as double) as high_price,
        cast(in_window.low as double) as low_price,
        cast(in_window.base_volume as double) as base_volume,
        cast(in_window.quote_volume as double) as quote_volume,
        cast(in_window.worker_id as integer) as worker_id,
        cast(in_window.connection_id as varchar) as connection_id,
        coalesce(symbols_normalized.is_parseable, false) as is_symbol_parseable,
        symbols_normalized.base_asset,
        symbols_normalized.quote_asset,
        symbols_normalized.settle_suffix
    from in_window
    left join symbols_normalized
        on in_window.symbol is not distinct from symbols_normalized.symbol_raw
),

-- The first reason that applies, in the documented order.
with_rejection_reason as not materialized (
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
            when isnan(price) or isinf(price) then 'non_finite_price'
            when price <= 0 then 'non_positive_price'
            when price > {{ var('max_plausible_price') }} then 'implausible_price'
        end as rejection_reason
    from typed
),

usable as not materialized (
    select * from with_rejection_reason
    where rejection_reason is null
),

-- Exact duplicates: the same update landed more than once (replayed frame, re-exported file).
-- Found with one aggregation (cheap: almost every key is unique); the first landed row is kept.
exact_duplicates as (
    select
        exchange_id,
        symbol_raw,
        ingestion_ts_utc,
        exchange_ts_any_utc,
        price,
        count(*) as landed_copies
    from usable
    group by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_any_utc, price
    having count(*) > 1
),

-- Every usable tick with the number of times it landed (1 unless it is in exact_duplicates).
with_copies as not materialized (
    select
        usable.*,
        coalesce(exact_duplicates.landed_copies, 1) as landed_copies
    from usable
    left join exact_duplicates
        on
            usable.exchange_id = exact_duplicates.exchange_id
            and usable.symbol_raw = exact_duplicates.symbol_raw
            and usable.ingestion_ts_utc = exact_duplicates.ingestion_ts_utc
            and usable.exchange_ts_any_utc is not distinct from exact_duplicates.exchange_ts_any_utc
            and usable.price = exact_duplicates.price
),

-- One row per duplicate group, the first landed; also when a file was exported twice and the
-- copies share (source_file, source_row_id).
first_of_duplicates as (
    select distinct on (exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_any_utc, price) *
    from with_copies
    where landed_copies > 1
    order by
        exchange_id,
        symbol_raw,
        ingestion_ts_utc,
        exchange_ts_any_utc,
        price,
        source_file,
        source_row_id
),

staged as (
    select * from with_copies
    where landed_copies = 1
    union all
    select * from first_of_duplicates
    union all
    select
        *,
        1 as landed_copies
    from with_rejection_reason
    where rejection_reason is not null
    qualify row_number() over (
        partition by source_file, source_row_id order by ingestion_ts_utc
    ) = 1
),

final as (
    select
        tick_hour_utc,
        tick_date_utc,
        source_file,
        source_row_id,
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
        landed_copies,
        rejection_reason,
        {{ build_started_at() }} as built_at_utc
    from staged
)

select * from final
