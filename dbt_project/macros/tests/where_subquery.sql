{#- Tests on incremental models check only the rows this build wrote: their `where` config is the
    word built_by_this_build, replaced here by `built_at_utc = <this build's start>`. A `where`
    config is rendered when dbt parses the project, and partial parsing keeps that text for later
    runs, so a time written into the config itself would stay the first parse's (every later build
    would check an old build's rows, and more of them each day). This macro runs when the test
    does. Any other `where` is used as written. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where == 'built_by_this_build' -%}
        {%- set where = 'built_at_utc = ' ~ build_started_at() -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
