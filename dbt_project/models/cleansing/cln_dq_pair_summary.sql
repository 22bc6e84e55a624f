{%- set summed_columns = [
    'landed_rows', 'staged_ticks', 'live_ticks', 'backfill_rows',
    'exact_duplicates_removed', 'same_time_duplicate_count', 'replay_count',
    'duplicate_tick_count', 'negative_numeric_count', 'bid_above_ask_count',
    'implausible_exchange_ts_count', 'outlier_return_count', 'total_buckets',
    'observed_buckets', 'backfill_buckets', 'forward_fill_buckets',
    'interpolation_buckets', 'missing_buckets', 'stale_buckets',
] %}

-- Data-quality and fill counts per (exchange_id, symbol) over the whole warehouse: the original's
-- cleansing_pair_summary and cleansing_dq_summary, summed from cln_dq_daily.
with

dq_daily as (
    select * from {{ ref('cln_dq_daily') }}
),

final as (
    select
        exchange_id,
        symbol,
        {%- for column in summed_columns %}
            cast(sum({{ column }}) as bigint) as {{ column }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from dq_daily
    group by exchange_id, symbol
)

select * from final
