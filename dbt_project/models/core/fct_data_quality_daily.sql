{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set as_ts = cast_as('kpi_date_utc', 'timestamptz') %}
{%- set window_start = rebuilt_inputs_start([
    (ref('cln_rejected_ticks'), 'tick_hour_utc'),
    (ref('cln_rejected_events'), 'event_hour_utc'),
    (ref('cln_dq_daily'), as_ts),
    (ref('fct_latency_daily'), as_ts),
    (ref('fct_update_frequency_daily'), as_ts),
    (ref('fct_price_deviation_daily'), as_ts),
], 'day') %}

-- What the data-quality policy did per (kpi_date_utc, exchange_id, check_name), one row per check
-- that found anything (docs/kpi_catalog.md, "Data-quality policy"). check_kind:
--   quarantined_tick / quarantined_event  rows kept out of every KPI (cln_rejected_ticks,
--                      cln_rejected_events), check_name = the rejection reason; exchange_id
--                      '(invalid)' when the exchange id itself was rejected, '(none)' for worker
--                      events
--   flagged_tick       usable ticks with a flag (duplicates are also kept out of the KPIs)
--   flagged_bucket     observed buckets with an outlier return
--   monitored          the original's range assertions, counted: latency samples above
--                      latency_limit_ms, negative latency samples, market-days above
--                      update_frequency_limit_hz, aligned buckets above price_diff_pct_limit
--                      (exchange_id '*': a cross-exchange figure)
-- row_count is the number of rows (ticks, events, buckets or market-days) the check counted.
with

rejected_ticks as (
    select * from {{ ref('cln_rejected_ticks') }}
    where tick_date_utc >= cast({{ window_start }} as date)
),

rejected_events as (
    select * from {{ ref('cln_rejected_events') }}
    where event_date_utc >= cast({{ window_start }} as date)
),

dq_daily as (
    select * from {{ ref('cln_dq_daily') }}
    where kpi_date_utc >= cast({{ window_start }} as date)
),

latency_daily as (
    select * from {{ ref('fct_latency_daily') }}
    where kpi_date_utc >= cast({{ window_start }} as date)
),

update_frequency_daily as (
    select * from {{ ref('fct_update_frequency_daily') }}
    where kpi_date_utc >= cast({{ window_start }} as date)
),

price_deviation_daily as (
    select * from {{ ref('fct_price_deviation_daily') }}
    where kpi_date_utc >= cast({{ window_start }} as date)
),

{%- set tick_flags = [
    ('exact_duplicate', 'exact_duplicates_removed', 'flagged_tick'),
    ('same_time_duplicate', 'same_time_duplicate_count', 'flagged_tick'),
    ('replay', 'replay_count', 'flagged_tick'),
    ('negative_numeric', 'negative_numeric_count', 'flagged_tick'),
    ('bid_above_ask', 'bid_above_ask_count', 'flagged_tick'),
    ('implausible_exchange_ts', 'implausible_exchange_ts_count', 'flagged_tick'),
    ('outlier_return', 'outlier_return_count', 'flagged_bucket'),
] %}

checks as (
    select
        tick_date_utc as kpi_date_utc,
        coalesce({{ valid_exchange_id('exchange_id_raw') }}, '(invalid)') as exchange_id,
        'quarantined_tick' as check_kind,
        rejection_reason as check_name,
        count(*) as row_count
    from rejected_ticks
    group by all
    union all
    select
        event_date_utc as kpi_date_utc,
        case
            when exchange_id_raw is null or exchange_id_raw in ('', '__none__') then '(none)'
            else coalesce({{ valid_exchange_id('exchange_id_raw') }}, '(invalid)')
        end as exchange_id,
        'quarantined_event' as check_kind,
        rejection_reason as check_name,
        count(*) as row_count
    from rejected_events
    group by all
    {%- for check_name, column, kind in tick_flags %}
        union all
        select
            kpi_date_utc,
            exchange_id,
            '{{ kind }}' as check_kind,
            '{{ check_name }}' as check_name,
            sum({{ column }}) as row_count
        from dq_daily
        group by all
    {%- endfor %}
    union all
    select
        kpi_date_utc,
        exchange_id,
        'monitored' as check_kind,
        'latency_over_limit' as check_name,
        sum(latency_over_limit_count) as row_count
    from latency_daily
    group by all
    union all
    select
        kpi_date_utc,
        exchange_id,
        'monitored' as check_kind,
        'negative_latency' as check_name,
        sum(negative_latency_count) as row_count
    from latency_daily
    group by all
    union all
    select
        kpi_date_utc,
        exchange_id,
        'monitored' as check_kind,
        'update_frequency_over_limit' as check_name,
        count(*) filter (where is_over_frequency_limit) as row_count
    from update_frequency_daily
    group by all
    union all
    select
        kpi_date_utc,
        '*' as exchange_id,
        'monitored' as check_kind,
        'price_diff_over_limit' as check_name,
        sum(over_deviation_limit_count) as row_count
    from price_deviation_daily
    group by all
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        check_kind,
        check_name,
        cast(row_count as bigint) as row_count,
        {{ build_started_at() }} as built_at_utc
    from checks
    where row_count > 0
)

select * from final
