{#- The UTC calendar date of a timestamptz, whatever the session time zone. -#}
{% macro utc_date(timestamp_expression) -%}
    cast(({{ timestamp_expression }}) at time zone 'UTC' as date)
{%- endmacro %}

{#- Seconds from one timestamptz to another, at microsecond precision, as a double. -#}
{% macro seconds_between(start_expression, end_expression) -%}
    ((epoch_us({{ end_expression }}) - epoch_us({{ start_expression }})) / 1000000.0)
{%- endmacro %}

{#- A timestamptz as 'YYYY-MM-DD HH:MM UTC' text, for labels a dashboard shows. -#}
{% macro utc_minute_label(timestamp_expression) -%}
    strftime(({{ timestamp_expression }}) at time zone 'UTC', '%Y-%m-%d %H:%M UTC')
{%- endmacro %}
