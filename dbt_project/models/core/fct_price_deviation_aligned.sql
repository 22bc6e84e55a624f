{{ config(**incremental_by_unit('bucket_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_market_grid'), 'bucket_hour_utc'),
]) %}

-- Cross-exchange price deviation per (bucket_start_utc, symbol) over comparable grid rows: a price,
-- neither missing nor stale, at least two exchanges. Rows whose price comes from an outlier print
-- (cln_market_grid.is_outlier) are left out of the main figures and kept in the unfiltered ones:
--   price_diff_abs = max - min, price_diff_pct = price_diff_abs / min * 100 over the comparable
--   rows that are no outlier (null when fewer than two remain); unfiltered_* over all comparable
--   rows. Ties: the highest (lowest) price's exchange is the alphabetically first (last) among
--   equals, so a pair always names two exchanges. symbol includes the quote: only like quotes are
--   compared.
-- Rows for every bucket and symbol with at least two comparable rows.
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
    where bucket_hour_utc >= {{ window_start }}
),

comparable_prices as (
    select
        bucket_start_utc,
        bucket_hour_utc,
        exchange_id,
        symbol,
        price,
        is_outlier
    from market_grid
    where price is not null and not is_missing and not is_stale
),

buckets_compared as (
    select
        bucket_start_utc,
        min(bucket_hour_utc) as bucket_hour_utc,
        symbol,
        count(*) filter (where not is_outlier) as exchanges_compared,
        max(price) filter (where not is_outlier) as max_price,
        min(price) filter (where not is_outlier) as min_price,
        -- the highest price's exchange (ties: the first by name); the lowest's (ties: the last)
        min_by(exchange_id, {{ ordering_key(['-price', 'exchange_id']) }})
        filter (where not is_outlier) as max_exchange_id,
        max_by(exchange_id, {{ ordering_key(['-price', 'exchange_id']) }})
        filter (where not is_outlier) as min_exchange_id,
        count(*) as unfiltered_exchanges_compared,
        max(price) - min(price) as unfiltered_price_diff_abs,
        (max(price) - min(price)) / min(price) * 100 as unfiltered_price_diff_pct,
        count(*) filter (where is_outlier) as outlier_rows_excluded
    from comparable_prices
    group by bucket_start_utc, symbol
    having count(*) >= 2
),

final as (
    select
        bucket_start_utc,
        bucket_hour_utc,
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        symbol,
        {{ symbol_base_code('symbol') }} as base_asset,
        {{ symbol_quote_code('symbol') }} as quote_asset,
        exchanges_compared,
        case when exchanges_compared >= 2 then max_price end as max_price,
        case when exchanges_compared >= 2 then min_price end as min_price,
        case when exchanges_compared >= 2 then max_price - min_price end as price_diff_abs,
        case
            when exchanges_compared >= 2 then (max_price - min_price) / min_price * 100
        end as price_diff_pct,
        case when exchanges_compared >= 2 then max_exchange_id end as max_exchange_id,
        case when exchanges_compared >= 2 then min_exchange_id end as min_exchange_id,
        case
            when exchanges_compared >= 2 then max_exchange_id || '|' || min_exchange_id
        end as exchange_pair,
        unfiltered_exchanges_compared,
        unfiltered_price_diff_abs,
        unfiltered_price_diff_pct,
        outlier_rows_excluded,
        coalesce(
            (max_price - min_price) / min_price * 100 > {{ var('price_diff_pct_limit') }}
            and exchanges_compared >= 2,
            false
        ) as is_over_deviation_limit,
        {{ build_started_at() }} as built_at_utc
    from buckets_compared
)

select * from final
