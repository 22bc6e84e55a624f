{#- Root of the Parquet lake. Keep the default in step with _lake__sources.yml. -#}
{% macro lake_dir() -%}
    {{ env_var('DWH_LAKE_DIR', 'data/lake').rstrip('/') }}
{%- endmacro %}
