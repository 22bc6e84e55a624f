{{ config(**incremental_by_unit('tick_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__market_ticks'), 'tick_hour_utc'),
]) %}

-- The quarantine: one row per lake row of market_ticks the warehouse cannot use, with its lake key
-- and the reason (docs/kpi_catalog.md, "Data-quality policy"). Nothing here reaches a KPI.
with

market_ticks as (
    select * from {{ ref('stg_lake__market_ticks') }}
    where tick_hour_utc >= {{ window_start }} and rejection_reason is not null
    qualify row_number() over (
        partition by source_file, source_row_id order by built_at_utc, lake_file
    ) = 1
),

final as (
    select
        tick_hour_utc,
        tick_date_utc,
        source_file,
        source_row_id,
        exchange_id_raw,
        symbol_raw,
        source_raw,
        exchange_ts_source,
        ingestion_ts_utc,
        price,
        rejection_reason,
        {{ build_started_at() }} as built_at_utc
    from market_ticks
)

select * from final
