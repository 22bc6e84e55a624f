-- mart_price_24h is a view over the grid's last 24 hours (as a table it would rewrite every
-- market's whole day on each incremental build). All of its properties are checked in one pass
-- instead of one pass per generic test, over the hours the grid rebuilt in this build (the whole
-- window on a full build): one row per (bucket, exchange, symbol); no null key; every market known
-- to dim_market (base asset) and dim_exchange (sort order); fill_method from the documented list.
-- Returns each broken key.
{%- set fill_methods = ['observed', 'backfill', 'forward_fill', 'interpolation', 'missing'] %}
{%- set rebuilt_from = span_built_by_this_build(ref('cln_market_grid'), 'bucket_hour_utc').start %}

with

price_24h as (
    select * from {{ ref('mart_price_24h') }}
    where bucket_start_utc >= {{ rebuilt_from }}
),

per_key as (
    select
        bucket_start_utc,
        exchange_id,
        symbol,
        count(*) as row_count,
        count(*) - count(base_asset) as rows_without_base_asset,
        count(*) - count(exchange_sort_order) as rows_without_sort_order,
        count(*) filter (
            where fill_method is null or fill_method not in {{ sql_string_list(fill_methods) }}
        ) as rows_with_unknown_fill_method
    from price_24h
    group by bucket_start_utc, exchange_id, symbol
),

final as (
    select * from per_key
    where
        row_count != 1
        or bucket_start_utc is null
        or exchange_id is null
        or symbol is null
        or rows_without_base_asset > 0
        or rows_without_sort_order > 0
        or rows_with_unknown_fill_method > 0
)

select * from final
