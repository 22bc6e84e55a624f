-- Cross-exchange price deviation per (bucket_start_utc, symbol): grid rows with a price that are
-- neither missing nor stale, from at least two exchanges. price_diff_abs = max - min,
-- price_diff_pct = price_diff_abs / min * 100. Ties: the highest (lowest) price's exchange is the
-- alphabetically first (last) among equals, so a pair always names two exchanges.
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

comparable_prices as (
    select
        bucket_start_utc,
        exchange_id,
        symbol,
        price
    from market_grid
    where price is not null and not is_missing and not is_stale
),

buckets_compared as (
    select
        bucket_start_utc,
        symbol,
        count(*) as exchanges_compared,
        max(price) as max_price,
        min(price) as min_price,
        first(exchange_id order by price desc, exchange_id asc) as max_exchange_id,
        first(exchange_id order by price asc, exchange_id desc) as min_exchange_id
    from comparable_prices
    group by bucket_start_utc, symbol
    having count(*) >= 2
),

base_assets as (
    select distinct
        symbol,
        base_asset
    from markets
),

final as (
    select
        buckets_compared.bucket_start_utc,
        {{ utc_date('buckets_compared.bucket_start_utc') }} as kpi_date_utc,
        buckets_compared.symbol,
        base_assets.base_asset,
        buckets_compared.exchanges_compared,
        buckets_compared.max_price,
        buckets_compared.min_price,
        buckets_compared.max_price - buckets_compared.min_price as price_diff_abs,
        (buckets_compared.max_price - buckets_compared.min_price)
        / buckets_compared.min_price * 100 as price_diff_pct,
        buckets_compared.max_exchange_id,
        buckets_compared.min_exchange_id,
        buckets_compared.max_exchange_id || '|' || buckets_compared.min_exchange_id as exchange_pair
    from buckets_compared
    left join base_assets
        on buckets_compared.symbol = base_assets.symbol
)

select * from final
