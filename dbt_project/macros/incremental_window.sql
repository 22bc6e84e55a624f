{#- The first UTC day an incremental run reprocesses: the newest day already loaded minus
    var('lookback_days'), so late-arriving files for recent days are picked up. Renders a
    date literal; on a full build it renders the earliest possible date. -#}
{% macro incremental_start_date(date_column) -%}
    {%- if is_incremental() -%}
        (
            select coalesce(max({{ date_column }}), date '1970-01-01') - {{ var('lookback_days') }}
            from {{ this }}
        )
    {%- else -%}
        date '1970-01-01'
    {%- endif -%}
{%- endmacro %}
