{{ config(**incremental_by_unit('kpi_date_utc')) }}

{%- set window_start = rebuilt_inputs_start([
    (ref('fct_kpi_hourly_exchange_symbol'), 'kpi_hour_utc'),
], 'day') %}

-- Update frequency per (kpi_date_utc, exchange_id, symbol): the day's update intervals of the
-- market (definition in fct_kpi_hourly_exchange_symbol: the gap to the previous KPI tick, kept when
-- > 0 and not across unobserved time; it belongs to the day of the later tick), rolled up exactly
-- from the hours. update_frequency_hz = 1 / avg_update_interval_s. Rows only where at least one
-- interval exists (the original's grain). is_over_frequency_limit flags update_frequency_hz above
-- update_frequency_limit_hz (the original's 100 Hz assertion, now a monitored check).
with

hourly_markets as (
    select * from {{ ref('fct_kpi_hourly_exchange_symbol') }}
    where kpi_hour_utc >= {{ window_start }}
),

daily as (
    select
        kpi_date_utc,
        exchange_id,
        symbol,
        cast(sum(interval_count) as bigint) as interval_count,
        sum(interval_sum_s) as interval_sum_s,
        min(min_update_interval_s) as min_update_interval_s,
        max(max_update_interval_s) as max_update_interval_s,
        cast(sum(unobserved_interval_count) as bigint) as unobserved_interval_count
    from hourly_markets
    group by kpi_date_utc, exchange_id, symbol
    having sum(interval_count) > 0
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        symbol,
        interval_count,
        interval_sum_s / interval_count as avg_update_interval_s,
        min_update_interval_s,
        max_update_interval_s,
        interval_count / interval_sum_s as update_frequency_hz,
        unobserved_interval_count,
        interval_count / interval_sum_s
        > {{ var('update_frequency_limit_hz') }} as is_over_frequency_limit,
        {{ build_started_at() }} as built_at_utc
    from daily
)

select * from final
