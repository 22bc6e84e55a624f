{#- How incremental models choose what to rebuild (docs/performance.md, "Incremental builds").

    Staging loads the lake files it has not loaded yet (macros/lake/select_from_lake.sql). Every
    row an incremental model writes is stamped with the build's start (built_at_utc). A model
    downstream rebuilds the hours (or days) its inputs rebuilt since the model itself last ran: from
    the earliest hour among input rows stamped later than its own newest stamp. So cost follows new
    data, a late file rebuilds the hours it belongs to, and a model that failed in one run catches
    up in the next. Starts are read once at run time and rendered as literals, so DuckDB can skip
    older table row groups. -#}

{#- The build's start as a timestamptz literal (the same value for every model of one run). -#}
{% macro build_started_at() -%}
    {{ utc_timestamp_literal(run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f")) }}
{%- endmacro %}

{#- The far future, as a timestamptz literal. -#}
{% macro _far_future() -%}
    {{ utc_timestamp_literal("9999-12-31 00:00:00") }}
{%- endmacro %}

{#- Downstream: the earliest value of each input's time column among the input rows rebuilt since
    this model last ran, truncated to the UTC hour ('hour') or day ('day'). inputs is a list of
    (relation, time column) pairs. The epoch on a first or full build; the far future when no
    input rebuilt anything (the model then rebuilds nothing). -#}
{% macro rebuilt_inputs_start(inputs, unit='hour') -%}
    {%- if not (execute and is_incremental()) -%}
        {{- return(utc_timestamp_literal("1970-01-01 00:00:00")) -}}
    {%- endif -%}
    {%- set last_built = run_query(
        "select " ~ format_utc("max(built_at_utc)", "%Y-%m-%d %H:%M:%S.%f") ~ " from " ~ this
    ).columns[0].values()[0] -%}
    {%- if last_built is none -%}
        {{- return(utc_timestamp_literal("1970-01-01 00:00:00")) -}}
    {%- endif -%}
    {%- set earliest = [] -%}
    {%- for relation, time_column in inputs -%}
        {%- set value = run_query(
            "select " ~ format_utc(
                "date_trunc('" ~ unit ~ "', min(" ~ time_column ~ "))", "%Y-%m-%d %H:%M:%S"
            ) ~ " from " ~ relation
            ~ " where built_at_utc > " ~ utc_timestamp_literal(last_built)
        ).columns[0].values()[0] -%}
        {%- if value is not none -%}
            {%- do earliest.append(value) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if earliest | length == 0 -%}
        {{- return(_far_future()) -}}
    {%- endif -%}
    {{- return(utc_timestamp_literal(earliest | min)) -}}
{%- endmacro %}

{#- The UTC hour a row belongs to; rows without a timestamp fall back to the partition date. -#}
{% macro utc_hour(timestamp_expression, fallback_date) -%}
    coalesce(
        date_trunc('hour', {{ timestamp_expression }}),
        {{ cast_as(fallback_date, 'timestamptz') }}
    )
{%- endmacro %}

{#- For tests of incremental models: the span of `time_column` over the rows of `relation` that this
    build wrote, truncated to the UTC hour or day, as [first, after the last) timestamptz literals
    (the far future twice when the build wrote none). Read when the test runs, so its filters on
    the raw column skip the history the build did not touch before any join or aggregate. -#}
{% macro span_built_by_this_build(relation, time_column, unit='hour') -%}
    {%- if not execute or load_relation(relation) is none -%}
        {#- compiling without a built warehouse (sqlfluff, dbt compile): every row -#}
        {{- return({
            'start': utc_timestamp_literal("1970-01-01 00:00:00"), 'end': _far_future()
        }) -}}
    {%- endif -%}
    {%- set bounds = run_query(
        "select "
        ~ format_utc("date_trunc('" ~ unit ~ "', min(" ~ time_column ~ "))", "%Y-%m-%d %H:%M:%S")
        ~ ", " ~ format_utc(
            "date_trunc('" ~ unit ~ "', max(" ~ time_column ~ ")) + " ~ interval_of(1, unit),
            "%Y-%m-%d %H:%M:%S"
        ) ~ " from " ~ relation ~ " where built_at_utc = " ~ build_started_at()
    ).rows[0] -%}
    {%- if bounds[0] is none -%}
        {{- return({'start': _far_future(), 'end': _far_future()}) -}}
    {%- endif -%}
    {{- return({
        'start': utc_timestamp_literal(bounds[0]), 'end': utc_timestamp_literal(bounds[1])
    }) -}}
{%- endmacro %}

{#- The config of an incremental model that rebuilds whole units (an hour or a day: the column
    `unit_column`). DuckDB deletes the units a build rewrites and inserts them again (the project's
    default strategy); Spark's Parquet tables cannot delete rows, so there the table is partitioned
    by the unit and a build overwrites the partitions it rewrites. -#}
{% macro incremental_by_unit(unit_column) -%}
    {{ return(adapter.dispatch('incremental_by_unit')(unit_column)) }}
{%- endmacro %}

{% macro default__incremental_by_unit(unit_column) -%}
    {{ return({'materialized': 'incremental', 'unique_key': unit_column}) }}
{%- endmacro %}

{% macro spark__incremental_by_unit(unit_column) -%}
    {{ return({
        'materialized': 'incremental', 'unique_key': unit_column,
        'incremental_strategy': 'insert_overwrite', 'partition_by': [unit_column],
        'file_format': 'parquet',
    }) }}
{%- endmacro %}
