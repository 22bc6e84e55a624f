-- Data-quality and fill summary per (exchange_id, symbol): tick counts by check, outlier returns,
-- grid buckets by fill method. The dbt counterpart of the original cleansing_pair_summary and
-- cleansing_dq_summary tables.
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
),

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

observed_bucket_returns as (
    select * from {{ ref('cln_observed_bucket_returns') }}
),

tick_checks as (
    select
        exchange_id,
        coalesce(symbol, '(null)') as symbol,
        cast(sum(landed_copies) as bigint) as landed_rows,
        count(*) as staged_ticks,
        count(*) filter (where source in ('ws', 'rest')) as live_ticks,
        count(*) filter (where source = 'backfill') as backfill_rows,
        count(*) filter (where is_null_ingestion_ts) as null_ingestion_ts_count,
        count(*) filter (where is_unparseable_ts) as unparseable_ts_count,
        count(*) filter (where is_null_price) as null_price_count,
        count(*) filter (where is_non_positive_price) as non_positive_price_count,
        count(*) filter (where has_negative_numeric) as negative_numeric_count,
        count(*) filter (where is_bid_above_ask) as bid_above_ask_count,
        count(*) filter (where is_duplicate_tick) as duplicate_tick_count,
        cast(sum(landed_copies - 1) as bigint) as exact_duplicates_removed,
        count(*) filter (where has_any_issue) as ticks_with_any_issue
    from tick_quality
    group by all
),

fill_counts as (
    select
        exchange_id,
        symbol,
        count(*) as total_buckets,
        count(*) filter (where fill_method = 'observed') as observed_buckets,
        count(*) filter (where fill_method = 'forward_fill') as forward_fill_buckets,
        count(*) filter (where fill_method = 'interpolation') as interpolation_buckets,
        count(*) filter (where fill_method = 'missing') as missing_buckets,
        count(*) filter (where is_stale) as stale_buckets,
        count(*) filter (where fill_method = 'backfill') as backfill_buckets
    from market_grid
    group by all
),

outliers as (
    select
        exchange_id,
        symbol,
        count(*) filter (where is_outlier_return) as outlier_return_count
    from observed_bucket_returns
    group by all
),

final as (
    select
        tick_checks.exchange_id,
        tick_checks.symbol,
        tick_checks.landed_rows,
        tick_checks.staged_ticks,
        tick_checks.live_ticks,
        tick_checks.backfill_rows,
        tick_checks.null_ingestion_ts_count,
        tick_checks.unparseable_ts_count,
        tick_checks.null_price_count,
        tick_checks.non_positive_price_count,
        tick_checks.negative_numeric_count,
        tick_checks.bid_above_ask_count,
        tick_checks.duplicate_tick_count,
        tick_checks.exact_duplicates_removed,
        tick_checks.ticks_with_any_issue,
        coalesce(outliers.outlier_return_count, 0) as outlier_return_count,
        coalesce(fill_counts.total_buckets, 0) as total_buckets,
        coalesce(fill_counts.observed_buckets, 0) as observed_buckets,
        coalesce(fill_counts.forward_fill_buckets, 0) as forward_fill_buckets,
        coalesce(fill_counts.interpolation_buckets, 0) as interpolation_buckets,
        coalesce(fill_counts.missing_buckets, 0) as missing_buckets,
        coalesce(fill_counts.stale_buckets, 0) as stale_buckets,
        coalesce(fill_counts.backfill_buckets, 0) as backfill_buckets
    from tick_checks
    left join fill_counts
        on
            tick_checks.exchange_id = fill_counts.exchange_id
            and tick_checks.symbol = fill_counts.symbol
    left join outliers
        on
            tick_checks.exchange_id = outliers.exchange_id
            and tick_checks.symbol = outliers.symbol
)

select * from final
