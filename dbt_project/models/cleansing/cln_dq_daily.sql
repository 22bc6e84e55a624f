{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
    (ref('cln_ticks_bucketed'), 'bucket_hour_utc'),
    (ref('cln_market_grid'), 'bucket_hour_utc'),
], 'day') %}

-- The original cleansing step's data-quality and fill counts per (kpi_date_utc, exchange_id,
-- symbol) of usable rows (quarantined rows are counted in cln_rejected_ticks): tick counts by
-- check (cln_tick_quality; day of reception), outlier returns (cln_ticks_bucketed) and grid
-- buckets by fill method (cln_market_grid; day of the bucket).
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }}
),

ticks_bucketed as (
    select * from {{ ref('cln_ticks_bucketed') }}
    where bucket_hour_utc >= {{ window_start }}
),

market_grid as (
    select * from {{ ref('cln_market_grid') }}
    where bucket_hour_utc >= {{ window_start }}
),

tick_checks as (
    select
        tick_date_utc as kpi_date_utc,
        exchange_id,
        symbol,
        cast(sum(landed_copies) as bigint) as landed_rows,
        count(*) as staged_ticks,
        count(*) filter (where is_live) as live_ticks,
        count(*) filter (where source = 'backfill') as backfill_rows,
        cast(sum(landed_copies - 1) as bigint) as exact_duplicates_removed,
        count(*) filter (where is_same_time_duplicate) as same_time_duplicate_count,
        count(*) filter (where is_replay and not is_same_time_duplicate) as replay_count,
        count(*) filter (where has_negative_numeric) as negative_numeric_count,
        count(*) filter (where is_bid_above_ask) as bid_above_ask_count,
        count(*) filter (where has_implausible_exchange_ts) as implausible_exchange_ts_count
    from tick_quality
    group by all
),

outliers as (
    select
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        count(*) filter (where is_outlier_return) as outlier_return_count
    from ticks_bucketed
    group by all
),

fill_counts as (
    select
        {{ utc_date('bucket_start_utc') }} as kpi_date_utc,
        exchange_id,
        symbol,
        count(*) as total_buckets,
        count(*) filter (where fill_method = 'observed') as observed_buckets,
        count(*) filter (where fill_method = 'backfill') as backfill_buckets,
        count(*) filter (where fill_method = 'forward_fill') as forward_fill_buckets,
        count(*) filter (where fill_method = 'interpolation') as interpolation_buckets,
        count(*) filter (where fill_method = 'missing') as missing_buckets,
        count(*) filter (where is_stale) as stale_buckets
    from market_grid
    group by all
),

market_days as (
    select
        kpi_date_utc,
        exchange_id,
        symbol
    from tick_checks
    union
    select
        kpi_date_utc,
        exchange_id,
        symbol
    from fill_counts
),

final as (
    select
        market_days.kpi_date_utc,
        market_days.exchange_id,
        market_days.symbol,
        coalesce(tick_checks.landed_rows, 0) as landed_rows,
        coalesce(tick_checks.staged_ticks, 0) as staged_ticks,
        coalesce(tick_checks.live_ticks, 0) as live_ticks,
        coalesce(tick_checks.backfill_rows, 0) as backfill_rows,
        coalesce(tick_checks.exact_duplicates_removed, 0) as exact_duplicates_removed,
        coalesce(tick_checks.same_time_duplicate_count, 0) as same_time_duplicate_count,
        coalesce(tick_checks.replay_count, 0) as replay_count,
        coalesce(tick_checks.exact_duplicates_removed, 0)
        + coalesce(tick_checks.same_time_duplicate_count, 0)
        + coalesce(tick_checks.replay_count, 0) as duplicate_tick_count,
        coalesce(tick_checks.negative_numeric_count, 0) as negative_numeric_count,
        coalesce(tick_checks.bid_above_ask_count, 0) as bid_above_ask_count,
        coalesce(tick_checks.implausible_exchange_ts_count, 0) as implausible_exchange_ts_count,
        coalesce(outliers.outlier_return_count, 0) as outlier_return_count,
        coalesce(fill_counts.total_buckets, 0) as total_buckets,
        coalesce(fill_counts.observed_buckets, 0) as observed_buckets,
        coalesce(fill_counts.backfill_buckets, 0) as backfill_buckets,
        coalesce(fill_counts.forward_fill_buckets, 0) as forward_fill_buckets,
        coalesce(fill_counts.interpolation_buckets, 0) as interpolation_buckets,
        coalesce(fill_counts.missing_buckets, 0) as missing_buckets,
        coalesce(fill_counts.stale_buckets, 0) as stale_buckets,
        {{ build_started_at() }} as built_at_utc
    from market_days
    left join tick_checks
        on
            market_days.kpi_date_utc = tick_checks.kpi_date_utc
            and market_days.exchange_id = tick_checks.exchange_id
            and market_days.symbol = tick_checks.symbol
    left join outliers
        on
            market_days.kpi_date_utc = outliers.kpi_date_utc
            and market_days.exchange_id = outliers.exchange_id
            and market_days.symbol = outliers.symbol
    left join fill_counts
        on
            market_days.kpi_date_utc = fill_counts.kpi_date_utc
            and market_days.exchange_id = fill_counts.exchange_id
            and market_days.symbol = fill_counts.symbol
)

select * from final
