-- One row for the dbt invocation that built the warehouse: the cleansing parameters in force and
-- the totals of every check, the quarantine and the grid over the whole warehouse (the original
-- cleansing_run_metadata and cleansing_dq_run_summary). It changes on every build by design
-- (invocation id and time).
with

dq_daily as (
    select * from {{ ref('cln_dq_daily') }}
),

rejected_ticks as (
    select * from {{ ref('cln_rejected_ticks') }}
),

rejected_events as (
    select * from {{ ref('cln_rejected_events') }}
),

totals as (
    select
        count(distinct {{ ordering_key(['exchange_id', 'symbol']) }}) as pair_count,
        {%- for column in dq_count_columns() %}
            cast(coalesce(sum({{ column }}), 0) as bigint) as {{ column }},
        {%- endfor %}
        (select count(*) from rejected_ticks) as rejected_tick_count,
        (select count(*) from rejected_events) as rejected_event_count
    from dq_daily
),

final as (
    select
        '{{ invocation_id }}' as invocation_id,
        {{ build_started_at() }} as run_started_at_utc,
        cast({{ var('bin_seconds') }} as {{ sql_type('integer') }}) as bin_seconds,
        cast({{ var('max_forward_fill_s') }} as {{ sql_type('integer') }}) as max_forward_fill_s,
        '{{ var("fill_method_mode") }}' as fill_method_mode,
        '{{ var("grid_age_reference") }}' as grid_age_reference,
        cast({{ var('stale_after_s') }} as {{ sql_type('integer') }}) as stale_after_s,
        cast({{ var('dq_outlier_threshold_pct') }} as double) as dq_outlier_threshold_pct,
        totals.*
    from totals
)

select * from final
