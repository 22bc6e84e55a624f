{{ config(materialized=reshaping_materialization()) }}

-- Update frequency per (kpi_date_utc, exchange_id, symbol) with the market's base and quote asset.
with

update_frequency_daily as (
    select * from {{ ref('fct_update_frequency_daily') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

final as (
    select
        update_frequency_daily.kpi_date_utc,
        update_frequency_daily.exchange_id,
        update_frequency_daily.symbol,
        markets.base_asset,
        markets.quote_asset,
        update_frequency_daily.interval_count,
        update_frequency_daily.avg_update_interval_s,
        update_frequency_daily.update_frequency_hz
    from update_frequency_daily
    left join markets
        on
            update_frequency_daily.exchange_id = markets.exchange_id
            and update_frequency_daily.symbol = markets.symbol
)

select * from final
