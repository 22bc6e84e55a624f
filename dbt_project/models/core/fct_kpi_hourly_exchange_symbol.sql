{{ config(**incremental_by_unit('kpi_hour_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('cln_tick_quality'), 'tick_hour_utc'),
    (ref('stg_lake__connection_events'), 'event_hour_utc'),
]) %}

-- Latency and update frequency per (kpi_hour_utc, exchange_id, symbol), the original's
-- vw_core_kpi_hourly_exchange_symbol, plus the sums the daily facts roll up exactly. Over KPI ticks
-- (usable live ticks that are no duplicate, cln_tick_quality):
--   latency_ms        reception - exchange time; a sample when >= 0 (negative ones are counted)
--   update_interval_s reception time - the market's previous KPI tick's, kept when > 0 and when
--                     both ticks lie in one interval in which a collector watched the exchange
--                     (an interval across unobserved time is counted, not used); it belongs to
--                     the hour of the later tick
-- disconnect_count is the exchange's disconnect events in the hour (as the original joins it).
-- Rows for every market-hour with a KPI tick.
with

tick_quality as (
    select * from {{ ref('cln_tick_quality') }}
    where tick_hour_utc >= {{ window_start }} and is_kpi_tick
),

pair_hourly_activity as (
    select * from {{ ref('cln_pair_hourly_activity') }}
),

watch_intervals as (
    select * from {{ ref('cln_watch_intervals') }}
    where symbol = '*'
),

connection_events as (
    select * from {{ ref('stg_lake__connection_events') }}
    where event_hour_utc >= {{ window_start }} and rejection_reason is null
),

-- Each market's last KPI tick before the rebuilt hours: the previous tick of its first one.
tick_before_window as (
    select
        exchange_id,
        symbol,
        max(last_tick_ts_utc) as ingestion_ts_utc
    from pair_hourly_activity
    where activity_hour_utc < {{ window_start }}
    group by exchange_id, symbol
),

ticks as (
    select
        exchange_id,
        symbol,
        ingestion_ts_utc,
        source_file,
        source_row_id,
        latency_ms,
        exchange_ts_utc is null as is_missing_exchange_ts,
        false as is_context
    from tick_quality
    union all
    select
        exchange_id,
        symbol,
        ingestion_ts_utc,
        null as source_file,
        null as source_row_id,
        null as latency_ms,
        false as is_missing_exchange_ts,
        true as is_context
    from tick_before_window
    where ingestion_ts_utc is not null
),

ticks_in_watch_intervals as (
    select
        ticks.*,
        watch_intervals.watch_start_utc
    from ticks
    left join watch_intervals
        on
            ticks.exchange_id = watch_intervals.exchange_id
            and ticks.ingestion_ts_utc >= watch_intervals.watch_start_utc
            and ticks.ingestion_ts_utc <= watch_intervals.watch_end_utc
),

tick_intervals as (
    select
        *,
        {{ seconds_between('lag(ingestion_ts_utc) over market_order', 'ingestion_ts_utc') }}
            as gap_s,
        lag(watch_start_utc) over market_order as previous_watch_start_utc,
        lag(ingestion_ts_utc) over market_order is not null as has_previous_tick
    from ticks_in_watch_intervals
    window market_order as (
        partition by exchange_id, symbol
        order by ingestion_ts_utc asc, is_context desc, source_file asc, source_row_id asc
    )
),

classified as (
    select
        date_trunc('hour', ingestion_ts_utc) as kpi_hour_utc,
        exchange_id,
        symbol,
        latency_ms,
        is_missing_exchange_ts,
        case
            when
                gap_s > 0
                and watch_start_utc is not null
                and watch_start_utc = previous_watch_start_utc
                then gap_s
        end as update_interval_s,
        has_previous_tick
        and gap_s > 0
        and (watch_start_utc is null or watch_start_utc is distinct from previous_watch_start_utc)
            as is_interval_across_unobserved
    from tick_intervals
    where not is_context
),

disconnects_hourly as (
    select
        event_hour_utc as kpi_hour_utc,
        exchange_id,
        count(*) as disconnect_count
    from connection_events
    where event_type = 'disconnect' and exchange_id is not null
    group by all
),

hourly as (
    select
        kpi_hour_utc,
        exchange_id,
        symbol,
        count(*) as kpi_tick_count,
        count(*) filter (where latency_ms >= 0) as latency_sample_count,
        sum(latency_ms) filter (where latency_ms >= 0) as latency_sum_ms,
        min(latency_ms) filter (where latency_ms >= 0) as min_latency_ms,
        max(latency_ms) filter (where latency_ms >= 0) as max_latency_ms,
        count(*) filter (where latency_ms < 0) as negative_latency_count,
        count(*) filter (where is_missing_exchange_ts) as missing_exchange_ts_count,
        count(*) filter (where latency_ms > {{ var('latency_limit_ms') }})
            as latency_over_limit_count,
        count(update_interval_s) as interval_count,
        sum(update_interval_s) as interval_sum_s,
        min(update_interval_s) as min_update_interval_s,
        max(update_interval_s) as max_update_interval_s,
        count(*) filter (where is_interval_across_unobserved) as unobserved_interval_count
    from classified
    group by kpi_hour_utc, exchange_id, symbol
),

final as (
    select
        hourly.kpi_hour_utc,
        {{ utc_date('hourly.kpi_hour_utc') }} as kpi_date_utc,
        hourly.exchange_id,
        hourly.symbol,
        hourly.kpi_tick_count,
        hourly.latency_sample_count,
        hourly.latency_sum_ms,
        hourly.latency_sum_ms / nullif(hourly.latency_sample_count, 0) as avg_latency_ms,
        hourly.min_latency_ms,
        hourly.max_latency_ms,
        hourly.negative_latency_count,
        hourly.missing_exchange_ts_count,
        hourly.latency_over_limit_count,
        hourly.interval_count,
        hourly.interval_sum_s,
        hourly.interval_sum_s / nullif(hourly.interval_count, 0) as avg_update_interval_s,
        hourly.min_update_interval_s,
        hourly.max_update_interval_s,
        hourly.interval_count / nullif(hourly.interval_sum_s, 0) as update_frequency_hz,
        hourly.unobserved_interval_count,
        coalesce(disconnects_hourly.disconnect_count, 0) as disconnect_count,
        {{ build_started_at() }} as built_at_utc
    from hourly
    left join disconnects_hourly
        on
            hourly.kpi_hour_utc = disconnects_hourly.kpi_hour_utc
            and hourly.exchange_id = disconnects_hourly.exchange_id
)

select * from final
