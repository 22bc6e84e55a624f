{{ config(**incremental_by_unit('tick_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('stg_lake__market_ticks'), 'tick_hour_utc'),
]) %}

-- One row per usable tick (live and backfill) with the original cleansing step's data-quality
-- flags, our replay check, and what the KPIs take from it: is_kpi_tick (a live tick that is no
-- duplicate) and its latency. A lake row loaded twice counts once; usable rows that landed more
-- than once with the same content (exchange, raw symbol, reception time, exchange time, price)
-- are collapsed into the first landed one (landed_copies). Flags describe; quarantined rows never
-- get here (cln_rejected_ticks). docs/kpi_catalog.md, sections 1 and 9.
with

-- Replays are found against the ticks of the replay window before the rebuilt hours too.
staged_ticks as {{ inlined() }} (
    select * from {{ ref('stg_lake__market_ticks') }}
    where
        rejection_reason is null
        and tick_hour_utc >= {{ window_start }} - {{ interval_of(1, 'hour') }}
        and ingestion_ts_utc
        >= {{ window_start }} - {{ interval_of(var('replay_window_s'), 'second') }}
),

-- Each check below first finds the (rare) keys that occur more than once with one aggregation,
-- then works on those rows only: no sort of every tick.

-- Ticks sharing market, reception time and price with another: the original's duplicates, and,
-- among them, the exact duplicates (also the same raw symbol and exchange time) and lake rows
-- loaded twice.
same_time_groups as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc,
        price
    from staged_ticks
    group by exchange_id, symbol, ingestion_ts_utc, price
    having count(*) > 1
),

same_time_ticks as {{ inlined() }} (
    select staged_ticks.*
    from staged_ticks
    inner join same_time_groups
        on
            staged_ticks.exchange_id = same_time_groups.exchange_id
            and staged_ticks.symbol = same_time_groups.symbol
            and staged_ticks.ingestion_ts_utc = same_time_groups.ingestion_ts_utc
            and staged_ticks.price = same_time_groups.price
),

-- Exact duplicates collapse into the first landed row, which counts its landed copies.
same_time_collapsed as (
    select
        *,
        row_number() over (
            partition by exchange_id, symbol, ingestion_ts_utc, price
            order by source_file, source_row_id
        ) > 1 as is_same_time_duplicate
    from (
        select
            *,
            {{ distinct_count_in_window(['source_file', 'source_row_id'], 'same_landed_content') }}
                as landed_copies
        from same_time_ticks
        window
            same_landed_content as (
                partition by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
            )
        qualify row_number() over (
            partition by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
            order by source_file, source_row_id
        ) = 1
    ) as exact_duplicates_collapsed
),

market_ticks as {{ inlined() }} (
    select
        staged_ticks.*,
        1 as landed_copies,
        false as is_same_time_duplicate
    from staged_ticks
    left join same_time_groups
        on
            staged_ticks.exchange_id = same_time_groups.exchange_id
            and staged_ticks.symbol = same_time_groups.symbol
            and staged_ticks.ingestion_ts_utc = same_time_groups.ingestion_ts_utc
            and staged_ticks.price = same_time_groups.price
    where same_time_groups.exchange_id is null
    union all
    select * from same_time_collapsed
),

-- A replay: the same exchange time, price, bid and ask as the market's previous live tick with
-- that content, received at most replay_window_s later.
repeated_live_content as (
    select
        exchange_id,
        symbol,
        exchange_ts_utc,
        price,
        bid,
        ask
    from market_ticks
    where is_live and exchange_ts_utc is not null
    group by exchange_id, symbol, exchange_ts_utc, price, bid, ask
    having count(*) > 1
),

replays as (
    select
        source_file,
        source_row_id,
        {{ seconds_between(
            'lag(ingestion_ts_utc) over same_content', 'ingestion_ts_utc',
        ) }} <= {{ var('replay_window_s') }} as is_replay
    from (
        select market_ticks.*
        from market_ticks
        inner join repeated_live_content
            on
                market_ticks.exchange_id = repeated_live_content.exchange_id
                and market_ticks.symbol = repeated_live_content.symbol
                and market_ticks.exchange_ts_utc = repeated_live_content.exchange_ts_utc
                and market_ticks.price = repeated_live_content.price
                and market_ticks.bid is not distinct from repeated_live_content.bid
                and market_ticks.ask is not distinct from repeated_live_content.ask
        where market_ticks.is_live
    ) as repeated_ticks
    window same_content as (
        partition by exchange_id, symbol, exchange_ts_utc, price, bid, ask
        order by ingestion_ts_utc, source_file, source_row_id
    )
),

with_duplicate_checks as (
    select
        market_ticks.*,
        coalesce(replays.is_replay, false) as is_replay
    from market_ticks
    left join replays
        on
            market_ticks.source_file = replays.source_file
            and market_ticks.source_row_id = replays.source_row_id
),

flagged as (
    select
        tick_hour_utc,
        tick_date_utc,
        source_file,
        source_row_id,
        exchange_id,
        symbol,
        symbol_raw,
        market_type,
        source,
        is_live,
        ingestion_ts_utc,
        exchange_ts_utc,
        exchange_ts_source,
        price,
        bid,
        ask,
        landed_copies,
        has_implausible_exchange_ts,
        coalesce(
            bid < 0
            or ask < 0
            or last_price < 0
            or base_volume < 0
            or quote_volume < 0,
            false
        ) as has_negative_numeric,
        coalesce(bid > ask, false) as is_bid_above_ask,
        is_same_time_duplicate,
        is_replay,
        is_same_time_duplicate or is_replay as is_duplicate_tick
    from with_duplicate_checks
    where tick_hour_utc >= {{ window_start }}
),

final as (
    select
        *,
        is_live and not is_duplicate_tick as is_kpi_tick,
        case
            when is_live and not is_duplicate_tick
                then {{ tick_latency_ms('ingestion_ts_utc', 'exchange_ts_utc') }}
        end as latency_ms,
        {{ build_started_at() }} as built_at_utc
    from flagged
)

select * from final
