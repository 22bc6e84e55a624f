-- The time a collector was watching each exchange and each market: one row per
-- (exchange_id, symbol, watch_start_utc), the union of the sessions' spans
-- (cln_exchange_watch_spans) merged into disjoint intervals [watch_start_utc, watch_end_utc].
-- symbol '*' is the exchange as a whole. Time outside every interval is unobserved: never "up",
-- never "down", no grid bucket, no update interval across it.
with

spans as (
    select * from {{ ref('cln_exchange_watch_spans') }}
),

merged as (
    {{ merge_watch_spans('spans', ['exchange_id', 'symbol']) }}
),

final as (
    select
        exchange_id,
        symbol,
        watch_start_utc,
        watch_end_utc,
        {{ seconds_between('watch_start_utc', 'watch_end_utc') }} as watched_seconds
    from merged
)

select * from final
