{#- Incremental models reprocess whole UTC hours from the newest hour already loaded minus
    var('lookback_hours'), so late-arriving files for recent hours are picked up; everything older
    is kept as built (a --full-refresh rebuilds it). The start is read once at run time and
    rendered as a literal so DuckDB can skip older lake partitions and Parquet row groups. -#}
{% macro incremental_start_hour(hour_column) -%}
    {%- set newest = newest_loaded_minus_lookback(
        "max(" ~ hour_column ~ ") at time zone 'UTC'", "%Y-%m-%d %H:%M:%S"
    ) -%}
    cast('{{ newest ~ "+00" if newest is not none else "1970-01-01 00:00:00+00" }}' as timestamptz)
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
    {%- set newest = newest_loaded_minus_lookback(
        "cast(max(" ~ date_column ~ ") as timestamp)", "%Y-%m-%d"
    ) -%}
    cast('{{ newest if newest is not none else "1970-01-01" }} 00:00:00+00' as timestamptz)
{%- endmacro %}

{#- In an incremental run, the newest value already loaded (a timestamp expression over `this`)
    minus var('lookback_hours'), formatted with strftime; none on a first or full build. -#}
{% macro newest_loaded_minus_lookback(newest_expression, strftime_format) -%}
    {%- if execute and is_incremental() -%}
        {{- return(run_query(
            "select strftime(" ~ newest_expression ~ " - to_hours(" ~ var('lookback_hours')
            ~ "), '" ~ strftime_format ~ "') from " ~ this
        ).columns[0].values()[0]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}
