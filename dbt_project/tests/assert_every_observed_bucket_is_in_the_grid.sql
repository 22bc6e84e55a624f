-- Every bucket that holds ticks is in the grid as 'observed' with its last tick's price and count
-- (checked for the buckets this build wrote: all of them on a full build).
with

ticks_bucketed as {{ inlined() }} (
    select * from {{ ref('cln_ticks_bucketed') }}
    where built_at_utc = {{ build_started_at() }}
),

market_grid as (
    select * from {{ ref('cln_market_grid') }}
),

final as (
    select
        ticks_bucketed.exchange_id,
        ticks_bucketed.symbol,
        ticks_bucketed.bucket_start_utc
    from ticks_bucketed
    left join market_grid
        on
            ticks_bucketed.exchange_id = market_grid.exchange_id
            and ticks_bucketed.symbol = market_grid.symbol
            and ticks_bucketed.bucket_start_utc = market_grid.bucket_start_utc
    where
        market_grid.fill_method is distinct from 'observed'
        or market_grid.price is distinct from ticks_bucketed.last_price
        or market_grid.tick_count_in_bin is distinct from ticks_bucketed.tick_count_in_bin
)

select * from final
