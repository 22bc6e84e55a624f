{{ config(materialized='view', contract={'enforced': true}) }}

-- The grid as forecasting may use it: a bucket's price is a training value and an actual only if
-- it was observed (docs/forecasting.md, "What forecasting trains on"):
--   observed       yes: the last live tick in the bucket
--   backfill       yes: the exchange's own 1-minute close for the bucket
--   forward_fill   only while not stale (age_seconds <= stale_after_s): the last price is still
--                  the current one; beyond that it is a guess
--   interpolation  never: it is computed from the next point, i.e. the future
--   missing        never
-- and never an outlier print (is_outlier), which the data-quality checks flag.
-- Elsewhere usable_price is null and forecasting treats the bucket as missing.
-- Grain: one row per (exchange_id, symbol, bucket_start_utc).
with

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

buckets_judged as (
    select
        exchange_id,
        symbol,
        bucket_start_utc,
        bucket_epoch_s,
        bin_seconds,
        fill_method,
        age_seconds,
        price is not null
        and not coalesce(is_outlier, false)
        and (
            fill_method in ('observed', 'backfill')
            or (fill_method = 'forward_fill' and not is_stale)
        ) as is_usable,
        price
    from market_grid
),

final as (
    select
        exchange_id,
        symbol,
        bucket_start_utc,
        bucket_epoch_s,
        bin_seconds,
        fill_method,
        age_seconds,
        is_usable,
        case when is_usable then price end as usable_price
    from buckets_judged
)

select * from final
