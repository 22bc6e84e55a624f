{{ config(materialized=reshaping_materialization()) }}

-- Grid coverage per (kpi_date_utc, exchange_id, symbol) with the market's base and quote asset.
with

coverage_daily as (
    select * from {{ ref('fct_coverage_daily') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

final as (
    select
        coverage_daily.kpi_date_utc,
        coverage_daily.exchange_id,
        coverage_daily.symbol,
        markets.base_asset,
        markets.quote_asset,
        coverage_daily.observed_buckets,
        coverage_daily.forward_fill_buckets,
        coverage_daily.interpolation_buckets,
        coverage_daily.missing_buckets,
        coverage_daily.total_buckets,
        coverage_daily.coverage_pct,
        coverage_daily.backfill_buckets,
        coverage_daily.watched_buckets,
        coverage_daily.unobserved_buckets,
        coverage_daily.live_coverage_pct
    from coverage_daily
    left join markets
        on
            coverage_daily.exchange_id = markets.exchange_id
            and coverage_daily.symbol = markets.symbol
)

select * from final
