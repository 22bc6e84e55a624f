{{ config(materialized='incremental', unique_key='tick_hour_utc') }}

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
staged_ticks as not materialized (
    select * from {{ ref('stg_lake__market_ticks') }}
    where
        rejection_reason is null
        and tick_hour_utc >= {{ window_start }} - to_hours(1)
        and ingestion_ts_utc >= {{ window_start }} - to_seconds({{ var('replay_window_s') }})
    qualify row_number() over (
        partition by source_file, source_row_id order by built_at_utc, lake_file
    ) = 1
),

market_ticks as not materialized (
    select
        *,
        count(*) over same_landed_content as landed_copies
    from staged_ticks
    window same_landed_content as (
        partition by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
    )
    qualify row_number() over (
        partition by exchange_id, symbol_raw, ingestion_ts_utc, exchange_ts_utc, price
        order by source_file, source_row_id
    ) = 1
),

with_duplicate_checks as (
    select
        *,
        -- The original's duplicate: same market, reception time and price as a tick landed before.
        row_number() over (
            partition by exchange_id, symbol, ingestion_ts_utc, price
            order by source_file, source_row_id
        ) > 1 as is_same_time_duplicate,
        -- A replay: the same exchange time, price, bid and ask as the market's previous live tick
        -- with that content, received at most replay_window_s later.
        case
            when is_live and exchange_ts_utc is not null
                then coalesce(
                    {{ seconds_between(
                        'lag(ingestion_ts_utc) over same_content',
                        'ingestion_ts_utc',
                    ) }} <= {{ var('replay_window_s') }},
                    false
                )
            else false
        end as is_replay
    from market_ticks
    window same_content as (
        partition by exchange_id, symbol, is_live, exchange_ts_utc, price, bid, ask
        order by ingestion_ts_utc, source_file, source_row_id
    )
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
