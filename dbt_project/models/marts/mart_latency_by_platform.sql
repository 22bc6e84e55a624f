-- Latency per (kpi_date_utc, exchange_id, symbol) with the canonical base asset.
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
        latency_daily.latency_sample_count,
        latency_daily.min_latency_ms,
        latency_daily.avg_latency_ms,
        latency_daily.p50_latency_ms,
        latency_daily.p95_latency_ms,
        latency_daily.max_latency_ms
    from latency_daily
    left join markets
        on
            latency_daily.exchange_id = markets.exchange_id
            and latency_daily.symbol = markets.symbol
)

select * from final
