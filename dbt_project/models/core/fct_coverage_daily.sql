-- Grid coverage per (kpi_date_utc, exchange_id, symbol): buckets by fill method; coverage_pct =
-- (observed + backfill buckets) / total buckets * 100 (the share of buckets priced from data that
-- fell in the bucket: a live tick or a backfilled 1-minute bar).
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
        100.0 * count(*) filter (where fill_method in ('observed', 'backfill')) / count(*)
            as coverage_pct,
        count(*) filter (where fill_method = 'backfill') as backfill_buckets
    from market_grid
    group by all
)

select * from final
