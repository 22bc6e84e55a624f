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

{#- The whole seconds since the epoch of a timestamptz (floored). -#}
{% macro epoch_seconds(timestamp_expression) -%}
    {{ int_div(epoch_micros(timestamp_expression), 1000000) }}
{%- endmacro %}

{#- The start, in epoch seconds, of the bin_seconds-wide bucket a timestamptz falls in. -#}
{% macro bucket_epoch_s(timestamp_expression, bin_seconds) -%}
    ({{ int_div(epoch_micros(timestamp_expression), bin_seconds ~ ' * 1000000') }} * {{ bin_seconds }})
{%- endmacro %}

{#- The start, in epoch seconds, of the last bucket a watch [start, end) overlaps (its first when it
    is empty). -#}
{% macro last_watched_bucket_epoch_s(start_expression, end_expression, bin_seconds) -%}
    greatest(
        {{ int_div(epoch_micros(end_expression) ~ ' - 1', bin_seconds ~ ' * 1000000') }}
        * {{ bin_seconds }},
        {{ bucket_epoch_s(start_expression, bin_seconds) }}
    )
{%- endmacro %}
