-- One row for the dbt invocation that built the warehouse: the cleansing parameters in force and
-- the totals of every check and fill method (the original cleansing_run_metadata and
-- cleansing_dq_run_summary). It changes on every build by design (invocation id and time).
with

pair_summary as (
    select * from {{ ref('cln_dq_pair_summary') }}
),

totals as (
    select
        count(*) as pair_count,
        cast(coalesce(sum(landed_rows), 0) as bigint) as landed_rows,
        cast(coalesce(sum(staged_ticks), 0) as bigint) as staged_ticks,
        cast(coalesce(sum(live_ticks), 0) as bigint) as live_ticks,
        cast(coalesce(sum(backfill_rows), 0) as bigint) as backfill_rows,
        cast(coalesce(sum(null_ingestion_ts_count), 0) as bigint) as null_ingestion_ts_count,
        cast(coalesce(sum(unparseable_ts_count), 0) as bigint) as unparseable_ts_count,
        cast(coalesce(sum(null_price_count), 0) as bigint) as null_price_count,
        cast(coalesce(sum(non_positive_price_count), 0) as bigint) as non_positive_price_count,
        cast(coalesce(sum(negative_numeric_count), 0) as bigint) as negative_numeric_count,
        cast(coalesce(sum(bid_above_ask_count), 0) as bigint) as bid_above_ask_count,
        cast(coalesce(sum(duplicate_tick_count), 0) as bigint) as duplicate_tick_count,
        cast(coalesce(sum(exact_duplicates_removed), 0) as bigint) as exact_duplicates_removed,
        cast(coalesce(sum(ticks_with_any_issue), 0) as bigint) as ticks_with_any_issue,
        cast(coalesce(sum(outlier_return_count), 0) as bigint) as outlier_return_count,
        cast(coalesce(sum(total_buckets), 0) as bigint) as total_buckets,
        cast(coalesce(sum(observed_buckets), 0) as bigint) as observed_buckets,
        cast(coalesce(sum(forward_fill_buckets), 0) as bigint) as forward_fill_buckets,
        cast(coalesce(sum(interpolation_buckets), 0) as bigint) as interpolation_buckets,
        cast(coalesce(sum(missing_buckets), 0) as bigint) as missing_buckets,
        cast(coalesce(sum(stale_buckets), 0) as bigint) as stale_buckets,
        cast(coalesce(sum(backfill_buckets), 0) as bigint) as backfill_buckets
    from pair_summary
),

final as (
    select
        '{{ invocation_id }}' as invocation_id,
        cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}+00' as timestamptz)
            as run_started_at_utc,
        cast({{ var('bin_seconds') }} as integer) as bin_seconds,
        cast({{ var('max_forward_fill_s') }} as integer) as max_forward_fill_s,
        '{{ var("fill_method_mode") }}' as fill_method_mode,
        cast({{ var('stale_after_s') }} as integer) as stale_after_s,
        cast({{ var('dq_outlier_threshold_pct') }} as double) as dq_outlier_threshold_pct,
        totals.*
    from totals
)

select * from final
