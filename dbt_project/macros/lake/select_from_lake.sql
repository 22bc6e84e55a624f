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
        select *, {{ cast_as('null', 'varchar') }} as lake_file from {{ source_relation }}
    {%- elif new_files | length == 0 -%}
        select *, {{ cast_as('null', 'varchar') }} as lake_file
        from ({{ empty_typed_select(lake_source_columns(table_name)) }}) as no_files
    {%- else -%}
        select
            *,
            {{ lake_file_of_row() }} as lake_file
        from {{ source_relation }}
        {%- if is_incremental() %}
            where {{ read_from_lake_files(new_files) }}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#- Every Parquet file of a lake table, as paths below the lake root. -#}
{% macro lake_files(table_name) -%}
    {{ return(adapter.dispatch('lake_files')(table_name)) }}
{%- endmacro %}

{% macro default__lake_files(table_name) -%}
    {%- set glob_pattern = lake_dir() ~ "/" ~ table_name ~ "/*/*/*.parquet" -%}
    {%- set result = run_query(
        "select " ~ _below_lake_root('file') ~ " from glob('" ~ glob_pattern ~ "') order by 1"
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}

{#- Spark lists a table's files from its partitions' metadata (the table is re-registered and its
    partitions recovered at the start of every run: prepare_lake). -#}
{% macro spark__lake_files(table_name) -%}
    {%- set result = run_query(
        "select distinct " ~ _below_lake_root('_metadata.file_path') ~ " from "
        ~ source('lake', table_name) ~ " order by 1"
    ) -%}
    {{ return(result.columns[0].values() | list) }}
{%- endmacro %}


{#- The lake file a row of a lake source was read from, as a path below the lake root. -#}
{% macro lake_file_of_row() -%}
    {{ return(adapter.dispatch('lake_file_of_row')()) }}
{%- endmacro %}

{% macro default__lake_file_of_row() -%}
    {{ _below_lake_root('filename') }}
{%- endmacro %}

{% macro spark__lake_file_of_row() -%}
    {{ _below_lake_root('_metadata.file_path') }}
{%- endmacro %}


{#- Whether a row of a lake source was read from one of these files (paths below the lake root),
    written so that the engine skips the other files. -#}
{% macro read_from_lake_files(paths) -%}
    {{ return(adapter.dispatch('read_from_lake_files')(paths)) }}
{%- endmacro %}

{% macro default__read_from_lake_files(paths) -%}
    filename in (
        {%- for path in paths %}
            '{{ lake_dir() }}/{{ path }}'{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{% macro spark__read_from_lake_files(paths) -%}
    {{ lake_file_of_row() }} in (
        {%- for path in paths %}
            '{{ path }}'{{ "," if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}


{#- A lake file's path, as the engine gives it, below the lake root: the last four parts
    <table>/date=<d>/exchange_id=<e>/<file>. -#}
{% macro _below_lake_root(path_expression) -%}
    {{ return(adapter.dispatch('_below_lake_root')(path_expression)) }}
{%- endmacro %}

{% macro default___below_lake_root(path_expression) -%}
    substr({{ path_expression }}, {{ (lake_dir() | length) + 2 }})
{%- endmacro %}

{% macro spark___below_lake_root(path_expression) -%}
    array_join(slice(split({{ path_expression }}, '/'), -4, 4), '/')
{%- endmacro %}


{#- The files this table has not loaded yet (all of them on a full build). -#}
{% macro files_not_loaded(table_name, files) -%}
    {%- if not is_incremental() -%}
        {{ return(files) }}
    {%- endif -%}
    {%- set loaded = loaded_lake_files(table_name) -%}
    {%- set loaded_set = {} -%}
    {%- for path in loaded -%}
        {%- do loaded_set.update({path: true}) -%}
    {%- endfor -%}
    {{ return(files | reject("in", loaded_set) | list) }}
{%- endmacro %}


{#- The lake files a staging table has loaded: DuckDB keeps them in staging.lake_load_log; Spark,
    whose Parquet tables cannot delete rows, reads them from the table itself. -#}
{% macro loaded_lake_files(table_name) -%}
    {{ return(adapter.dispatch('loaded_lake_files')(table_name)) }}
{%- endmacro %}

{% macro default__loaded_lake_files(table_name) -%}
    {{ return(run_query(
        "select lake_file from " ~ lake_load_log_relation()
        ~ " where table_name = '" ~ table_name ~ "'"
    ).columns[0].values()) }}
{%- endmacro %}

{% macro spark__loaded_lake_files(table_name) -%}
    {{ return(run_query(
        "select distinct lake_file from " ~ this ~ " where lake_file is not null"
    ).columns[0].values()) }}
{%- endmacro %}


{% macro lake_load_log_relation() -%}
    {{ return(api.Relation.create(
        database=target.database, schema='staging', identifier='lake_load_log'
    )) }}
{%- endmacro %}


{#- on-run-start: the lake is readable and the load log exists before any staging model runs. -#}
{% macro prepare_lake() -%}
    {{ return(adapter.dispatch('prepare_lake')()) }}
{%- endmacro %}

{% macro default__prepare_lake() -%}
    create schema if not exists staging;
    create table if not exists {{ lake_load_log_relation() }} (
        table_name varchar,
        lake_file varchar,
        loaded_at_utc timestamptz,
        row_count bigint
    )
{%- endmacro %}


{#- Spark reads the lake through external tables over its directories, registered again at every
    run (so they follow the documented columns) with their partitions recovered (so new dates and
    exchanges are seen). The hook then has nothing left to run. -#}
{% macro spark__prepare_lake() -%}
    {%- if execute -%}
        {%- do run_query("create schema if not exists lake") -%}
        {%- for node in graph.sources.values() if node.source_name == 'lake' -%}
            {%- set table_name = node.name -%}
            {%- set relation = source('lake', table_name) -%}
            {%- set columns = [] -%}
            {%- for column_name, data_type in lake_source_columns(table_name) -%}
                {%- if column_name not in ['date', 'exchange_id', 'filename'] -%}
                    {%- do columns.append(column_name ~ ' ' ~ sql_type(data_type)) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- do run_query("drop table if exists " ~ relation) -%}
            {%- do run_query(
                "create table " ~ relation ~ " (" ~ columns | join(", ")
                ~ ", date date, exchange_id string) using parquet"
                ~ " partitioned by (date, exchange_id)"
                ~ " location '" ~ lake_dir() ~ "/" ~ table_name ~ "'"
            ) -%}
            {%- do run_query("alter table " ~ relation ~ " recover partitions") -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}


{#- post-hook of a staging model: record the files this run loaded (a full build first forgets
    what the table had loaded). Spark needs no record (loaded_lake_files). -#}
{% macro record_loaded_lake_files(table_name) -%}
    {{ return(adapter.dispatch('record_loaded_lake_files')(table_name)) }}
{%- endmacro %}

{% macro spark__record_loaded_lake_files(table_name) -%}
    select 1
{%- endmacro %}

{% macro default__record_loaded_lake_files(table_name) -%}
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
        {{ cast_as('null', data_type) }} as {{ adapter.quote(column_name) }}{{ "," if not loop.last }}
    {%- endfor %}
    where false
{%- endmacro %}
