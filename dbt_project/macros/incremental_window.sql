{#- Incremental models reprocess whole UTC hours from the newest hour already loaded minus
    var('lookback_hours'), so late-arriving files for recent hours are picked up; everything older
    is kept as built (a --full-refresh rebuilds it). The start is read once at run time and
    rendered as a literal so DuckDB can skip older lake partitions and Parquet row groups. -#}
{% macro incremental_start_hour(hour_column) -%}
    {%- set start = "1970-01-01 00:00:00+00" -%}
    {%- if execute and is_incremental() -%}
        {%- set newest = run_query(
            "select strftime(max(" ~ hour_column ~ ") at time zone 'UTC'"
            ~ " - to_hours(" ~ var('lookback_hours') ~ "), '%Y-%m-%d %H:%M:%S') from " ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            {%- set start = newest ~ "+00" -%}
        {%- endif -%}
    {%- endif -%}
    cast('{{ start }}' as timestamptz)
{%- endmacro %}

{#- The UTC hour a row belongs to; rows without a timestamp fall back to the partition date. -#}
{% macro utc_hour(timestamp_expression, fallback_date) -%}
    coalesce(
        date_trunc('hour', {{ timestamp_expression }}),
        cast({{ fallback_date }} as timestamptz)
    )
{%- endmacro %}

{#- Daily incremental models rebuild whole UTC days from the day that holds the start of the
    hourly window (the newest day already built, minus var('lookback_hours')): every tick the
    hourly models may have reloaded falls on such a day. Rendered as the timestamptz of that
    day's midnight. -#}
{% macro incremental_start_day(date_column) -%}
    {%- set start = "1970-01-01" -%}
    {%- if execute and is_incremental() -%}
        {%- set newest = run_query(
            "select strftime(cast(max(" ~ date_column ~ ") as timestamp)"
            ~ " - to_hours(" ~ var('lookback_hours') ~ "), '%Y-%m-%d') from " ~ this
        ).columns[0].values()[0] -%}
        {%- if newest is not none -%}
            {%- set start = newest -%}
        {%- endif -%}
    {%- endif -%}
    cast('{{ start }} 00:00:00+00' as timestamptz)
{%- endmacro %}
