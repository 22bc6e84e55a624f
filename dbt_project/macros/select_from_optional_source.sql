{#- Select the named columns of a source table that may not exist yet (the forecast tables are
    written by `make forecast`, after the first `dbt build`). Missing table -> empty typed relation,
    so downstream marts still build; the next build after a forecast run reads the data. -#}
{% macro select_from_optional_source(source_name, table_name, columns) -%}
    {%- set source_relation = source(source_name, table_name) -%}
    {%- set existing = none -%}
    {%- if execute -%}
        {%- set existing = adapter.get_relation(
            database=source_relation.database,
            schema=source_relation.schema,
            identifier=source_relation.identifier,
        ) -%}
    {%- endif -%}
    {%- if existing is none -%}
        {{ empty_typed_select(columns) }}
    {%- else -%}
        select
        {%- for column_name, data_type in columns %}
            {{ cast_as(adapter.quote(column_name), data_type) }} as {{ adapter.quote(column_name) }}
            {{- "," if not loop.last }}
        {%- endfor %}
        from {{ source_relation }}
    {%- endif -%}
{%- endmacro %}
