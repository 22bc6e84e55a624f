{#- Select every column of a lake source. When the table's partition glob matches no file yet
    (a fresh install, or an export that skipped connection events) this renders an empty
    relation typed from the source's documented columns instead of failing inside read_parquet. -#}
{% macro select_from_lake(source_relation) -%}
    {%- set table_name = source_relation.identifier -%}
    {%- if execute and lake_file_count(table_name) == 0 -%}
        {{ log("lake: no Parquet files under " ~ lake_dir() ~ "/" ~ table_name
               ~ "/ yet; " ~ table_name ~ " is read as empty", info=true) }}
        {{ empty_typed_select(lake_source_columns(table_name)) }}
    {%- else -%}
        select * from {{ source_relation }}
    {%- endif -%}
{%- endmacro %}


{% macro lake_file_count(table_name) -%}
    {%- set glob_pattern = lake_dir() ~ "/" ~ table_name ~ "/*/*/*.parquet" -%}
    {%- set result = run_query("select count(*) from glob('" ~ glob_pattern ~ "')") -%}
    {{ return(result.columns[0].values()[0]) }}
{%- endmacro %}


{% macro lake_source_columns(table_name) -%}
    {%- set node = graph.sources["source." ~ project_name ~ ".lake." ~ table_name] -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() -%}
        {%- do columns.append((column.name, column.data_type)) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}


{% macro empty_typed_select(columns) -%}
    select
    {%- for column_name, data_type in columns %}
        cast(null as {{ data_type }}) as {{ adapter.quote(column_name) }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}
