{{ config(materialized=reshaping_materialization()) }}

-- Latency per (kpi_date_utc, exchange_id, symbol) with the market's base and quote asset; the
-- latency statistics cover latency_sample_count samples (negative ones and ticks without an
-- exchange time are counted beside them).
with

latency_daily as (
    select * from {{ ref('fct_latency_daily') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

final as (
    select
        latency_daily.kpi_date_utc,
        latency_daily.exchange_id,
        latency_daily.symbol,
        markets.base_asset,
        markets.quote_asset,
        latency_daily.latency_sample_count,
        latency_daily.min_latency_ms,
        latency_daily.avg_latency_ms,
        latency_daily.p50_latency_ms,
        latency_daily.p95_latency_ms,
        latency_daily.max_latency_ms,
        latency_daily.negative_latency_count,
        latency_daily.clock_skew_estimate_ms,
        latency_daily.missing_exchange_ts_count
    from latency_daily
    left join markets
        on
            latency_daily.exchange_id = markets.exchange_id
            and latency_daily.symbol = markets.symbol
)

select * from final
