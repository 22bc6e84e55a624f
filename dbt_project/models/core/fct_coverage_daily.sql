-- Grid coverage per (kpi_date_utc, exchange_id, symbol): buckets by fill method; coverage_pct =
-- observed buckets / total buckets * 100 (the share of buckets holding at least one live tick).
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

final as (
    select
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        count(*) filter (where fill_method = 'observed') as observed_buckets,
        count(*) filter (where fill_method = 'forward_fill') as forward_fill_buckets,
        count(*) filter (where fill_method = 'interpolation') as interpolation_buckets,
        count(*) filter (where fill_method = 'missing') as missing_buckets,
        count(*) as total_buckets,
        100.0 * count(*) filter (where fill_method = 'observed') / count(*) as coverage_pct
    from market_grid
    group by all
)

select * from final
