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
        {%- for column in dq_count_columns() %}
            cast(sum({{ column }}) as bigint) as {{ column }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from dq_daily
    group by exchange_id, symbol
)

select * from final
