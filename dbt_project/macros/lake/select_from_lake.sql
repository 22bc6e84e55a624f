{#- Staging loads the lake file by file: each run reads only the Parquet files it has not loaded
    yet (staging.lake_load_log, written after each staging model), so its cost follows new data and
    a file that arrives late, for any hour, is still loaded. A full refresh reads every file. -#}

{#- Select the rows of the lake source's files not loaded yet (every file on a full build), with
    lake_file = the file's path below the lake root. When there is no file at all (a fresh install,
    or an export that skipped connection events) this renders an empty relation typed from the
    source's documented columns instead of failing inside read_parquet. -#}
{% macro select_from_lake(source_relation) -%}
    {%- set table_name = source_relation.identifier -%}
    {%- set files = lake_files(table_name) if execute else [] -%}
    {%- set new_files = files_not_loaded(table_name, files) if execute else [] -%}
    {%- if execute and files | length == 0 -%}
        {{ log("lake: no Parquet files under " ~ lake_dir() ~ "/" ~ table_name
               ~ "/ yet; " ~ table_name ~ " is read as empty", info=true) }}
    {%- endif -%}
    {%- if not execute -%}
        select *, cast(null as varchar) as lake_file from {{ source_relation }}
    {%- elif new_files | length == 0 -%}
        select *, cast(null as varchar) as lake_file
        from ({{ empty_typed_select(lake_source_columns(table_name)) }}) as no_files
    {%- else -%}
        select
            *,
            {{ lake_relative_path('filename') }} as lake_file
        from {{ source_relation }}
        {%- if is_incremental() %}
            where filename in (
                {%- for path in new_files %}
                    '{{ lake_dir() }}/{{ path }}'{{ "," if not loop.last }}
                {%- endfor %}
            )
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#- Every Parquet file of a lake table, as paths below the lake root. -#}
{% macro lake_files(table_name) -%}
    {%- set glob_pattern = lake_dir() ~ "/" ~ table_name ~ "/*/*/*.parquet" -%}
    {%- set result = run_query(
        "select " ~ lake_relative_path('file') ~ " from glob('" ~ glob_pattern ~ "') order by 1"
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}


{#- A file path (as DuckDB's glob or filename give it) relative to the lake root. -#}
{% macro lake_relative_path(path_expression) -%}
    substr({{ path_expression }}, {{ (lake_dir() | length) + 2 }})
{%- endmacro %}


{#- The files not in staging.lake_load_log for this table (all of them on a full build). -#}
{% macro files_not_loaded(table_name, files) -%}
    {%- if not is_incremental() -%}
        {{ return(files) }}
    {%- endif -%}
    {%- set loaded = run_query(
        "select lake_file from " ~ lake_load_log_relation()
        ~ " where table_name = '" ~ table_name ~ "'"
    ).columns[0].values() -%}
    {%- set loaded_set = {} -%}
    {%- for path in loaded -%}
        {%- do loaded_set.update({path: true}) -%}
    {%- endfor -%}
    {{ return(files | reject("in", loaded_set) | list) }}
{%- endmacro %}


{% macro lake_load_log_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema='staging', identifier='lake_load_log'
    )) }}
{%- endmacro %}


{#- on-run-start: the load log exists before any staging model reads it. -#}
{% macro create_lake_load_log() -%}
    create schema if not exists staging;
    create table if not exists {{ lake_load_log_relation() }} (
        table_name varchar,
        lake_file varchar,
        loaded_at_utc timestamptz,
        row_count bigint
    )
{%- endmacro %}


{#- post-hook of a staging model: record the files this run loaded (a full build first forgets
    what the table had loaded). -#}
{% macro record_loaded_lake_files(table_name) -%}
    {%- if not is_incremental() %}
        delete from {{ lake_load_log_relation() }} where table_name = '{{ table_name }}';
    {%- endif %}
    insert into {{ lake_load_log_relation() }}
    select
        '{{ table_name }}' as table_name,
        lake_file,
        {{ build_started_at() }} as loaded_at_utc,
        count(*) as row_count
    from {{ this }}
    where built_at_utc = {{ build_started_at() }} and lake_file is not null
    group by lake_file
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
