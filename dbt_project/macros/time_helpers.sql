{#- Seconds from one timestamptz to another, at microsecond precision, as a double. -#}
{% macro seconds_between(start_expression, end_expression) -%}
    ((
        {{ epoch_micros(end_expression) }} - {{ epoch_micros(start_expression) }}
    ) / 1e6)
{%- endmacro %}

{#- A timestamptz as 'YYYY-MM-DD HH:MM UTC' text, for labels a dashboard shows. -#}
{% macro utc_minute_label(timestamp_expression) -%}
    {{ format_utc(timestamp_expression, '%Y-%m-%d %H:%M UTC') }}
{%- endmacro %}
