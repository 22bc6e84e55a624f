{{ config(materialized=reshaping_materialization()) }}

-- Grid prices for the price_window_hours (24) before the newest grid bucket, per
-- (bucket_start_utc, exchange_id, symbol); binance first (exchange_sort_order = 0).
with

market_grid as {{ inlined() }} (
    select * from {{ ref('cln_market_grid') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

exchanges as (
    select * from {{ ref('dim_exchange') }}
),

newest_bucket as (
    select max(bucket_start_utc) as newest_bucket_start_utc from market_grid
),

final as (
    select
        market_grid.bucket_start_utc,
        market_grid.exchange_id,
        market_grid.symbol,
        markets.base_asset,
        markets.quote_asset,
        market_grid.price,
        market_grid.fill_method,
        exchanges.exchange_sort_order
    from market_grid
    cross join newest_bucket
    left join markets
        on
            market_grid.exchange_id = markets.exchange_id
            and market_grid.symbol = markets.symbol
    left join exchanges
        on market_grid.exchange_id = exchanges.exchange_id
    where
        market_grid.bucket_start_utc
        > newest_bucket.newest_bucket_start_utc
        - {{ interval_of(var('price_window_hours'), 'hour') }}
)

select * from final
