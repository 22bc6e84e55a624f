{#- Latency of one tick in milliseconds (the original formula): reception time minus exchange
    time. Null when either is missing; callers keep only values >= 0. -#}
{% macro tick_latency_ms(ingestion_ts, exchange_ts) -%}
    (({{ epoch_micros(ingestion_ts) }} - {{ epoch_micros(exchange_ts) }}) / 1e3)
{%- endmacro %}
