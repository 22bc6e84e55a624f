{#- The SQL that differs between the engines this project runs on (docs/scaling.md): DuckDB (the
    default target) and Spark (target `spark`). Models call these macros instead of writing an
    engine's syntax; each has one version per engine. Spark runs with its session time zone set to
    UTC (profiles.yml), so its `timestamp` is the instant DuckDB's `timestamptz` is. -#}

{#- A column type as the models' YAML and casts name it (DuckDB's names), in the engine's SQL. -#}
{% macro sql_type(type_name) -%}
    {{ return(adapter.dispatch('sql_type')(type_name)) }}
{%- endmacro %}

{% macro default__sql_type(type_name) -%}
    {{ return(type_name) }}
{%- endmacro %}

{% macro spark__sql_type(type_name) -%}
    {%- set spark_names = {
        'timestamptz': 'timestamp', 'varchar': 'string', 'text': 'string', 'integer': 'int',
        'hugeint': 'decimal(38, 0)', 'ubigint': 'decimal(20, 0)',
    } -%}
    {{ return(spark_names.get(type_name | lower, type_name)) }}
{%- endmacro %}

{#- dbt's own casts (model contracts, unit-test fixtures) read the types of the models' YAML. -#}
{% macro spark__cast(expression, data_type) -%}
    cast({{ expression }} as {{ sql_type(data_type) }})
{%- endmacro %}

{#- `cast(x as T)` with T in DuckDB's names. -#}
{% macro cast_as(expression, type_name) -%}
    cast({{ expression }} as {{ sql_type(type_name) }})
{%- endmacro %}

{#- A CTE that the engine may inline into each reference rather than compute once. -#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined')()) }}
{%- endmacro %}

{% macro default__inlined() -%}
    not materialized
{%- endmacro %}

{% macro spark__inlined() -%}
{%- endmacro %}

{#- Microseconds since the epoch of a timestamptz, as a bigint. -#}
{% macro epoch_micros(timestamp_expression) -%}
    {{ return(adapter.dispatch('epoch_micros')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__epoch_micros(timestamp_expression) -%}
    epoch_us({{ timestamp_expression }})
{%- endmacro %}

{% macro spark__epoch_micros(timestamp_expression) -%}
    unix_micros({{ timestamp_expression }})
{%- endmacro %}

{#- The timestamptz of an epoch in milliseconds, or in whole seconds. -#}
{% macro from_epoch_millis(milliseconds_expression) -%}
    {{ return(adapter.dispatch('from_epoch_millis')(milliseconds_expression)) }}
{%- endmacro %}

{% macro default__from_epoch_millis(milliseconds_expression) -%}
    timezone('UTC', epoch_ms({{ milliseconds_expression }}))
{%- endmacro %}

{% macro spark__from_epoch_millis(milliseconds_expression) -%}
    timestamp_millis({{ milliseconds_expression }})
{%- endmacro %}

{% macro from_epoch_seconds(seconds_expression) -%}
    {{ return(adapter.dispatch('from_epoch_seconds')(seconds_expression)) }}
{%- endmacro %}

{% macro default__from_epoch_seconds(seconds_expression) -%}
    to_timestamp({{ seconds_expression }})
{%- endmacro %}

{% macro spark__from_epoch_seconds(seconds_expression) -%}
    timestamp_seconds({{ seconds_expression }})
{%- endmacro %}

{#- Integer division rounding toward minus infinity (both operands integers). -#}
{% macro int_div(numerator, denominator) -%}
    {{ return(adapter.dispatch('int_div')(numerator, denominator)) }}
{%- endmacro %}

{% macro default__int_div(numerator, denominator) -%}
    (({{ numerator }}) // ({{ denominator }}))
{%- endmacro %}

{% macro spark__int_div(numerator, denominator) -%}
    ((({{ numerator }}) - pmod({{ numerator }}, {{ denominator }})) div ({{ denominator }}))
{%- endmacro %}

{#- An interval of n units ('second', 'minute', 'hour', 'day'); n may be an expression. -#}
{% macro interval_of(amount, unit) -%}
    {{ return(adapter.dispatch('interval_of')(amount, unit)) }}
{%- endmacro %}

{% macro default__interval_of(amount, unit) -%}
    to_{{ unit }}s({{ amount }})
{%- endmacro %}

{% macro spark__interval_of(amount, unit) -%}
    {%- set parts = [] -%}
    {%- for part_unit in ['day', 'hour', 'minute', 'second'] -%}
        {%- do parts.append(amount if part_unit == unit else '0') -%}
    {%- endfor -%}
    make_dt_interval({{ parts | join(', ') }})
{%- endmacro %}

{#- A timestamptz literal from UTC text 'YYYY-MM-DD HH:MM:SS[.ffffff]' (a '+00' suffix is allowed). -#}
{% macro utc_timestamp_literal(utc_text) -%}
    {{ return(adapter.dispatch('utc_timestamp_literal')(utc_text | replace('+00', ''))) }}
{%- endmacro %}

{% macro default__utc_timestamp_literal(utc_text) -%}
    cast('{{ utc_text }}+00' as timestamptz)
{%- endmacro %}

{% macro spark__utc_timestamp_literal(utc_text) -%}
    timestamp'{{ utc_text }}'
{%- endmacro %}

{#- A timestamptz as UTC text in a strftime format (%Y %m %d %H %M %S %f only). -#}
{% macro format_utc(timestamp_expression, strftime_format) -%}
    {{ return(adapter.dispatch('format_utc')(timestamp_expression, strftime_format)) }}
{%- endmacro %}

{% macro default__format_utc(timestamp_expression, strftime_format) -%}
    strftime(({{ timestamp_expression }}) at time zone 'UTC', '{{ strftime_format }}')
{%- endmacro %}

{% macro spark__format_utc(timestamp_expression, strftime_format) -%}
    {%- set pattern = strftime_format
        | replace('%Y', 'yyyy') | replace('%m', 'MM') | replace('%d', 'dd')
        | replace('%H', 'HH') | replace('%M', 'mm') | replace('%S', 'ss') | replace('%f', 'SSSSSS')
        | replace(' UTC', " 'UTC'") -%}
    date_format({{ timestamp_expression }}, "{{ pattern }}")
{%- endmacro %}

{#- The UTC calendar date of a timestamptz. -#}
{% macro utc_date(timestamp_expression) -%}
    {{ return(adapter.dispatch('utc_date')(timestamp_expression)) }}
{%- endmacro %}

{% macro default__utc_date(timestamp_expression) -%}
    cast(({{ timestamp_expression }}) at time zone 'UTC' as date)
{%- endmacro %}

{% macro spark__utc_date(timestamp_expression) -%}
    to_date({{ timestamp_expression }})
{%- endmacro %}

{#- Whether a double is a number: not NaN and not infinite. -#}
{% macro is_finite(expression) -%}
    {{ return(adapter.dispatch('is_finite')(expression)) }}
{%- endmacro %}

{% macro default__is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}

{% macro spark__is_finite(expression) -%}
    (not isnan({{ expression }}) and abs({{ expression }}) != double('infinity'))
{%- endmacro %}

{#- Whether the whole text matches a regular expression. -#}
{% macro matches_fully(text_expression, pattern) -%}
    {{ return(adapter.dispatch('matches_fully')(text_expression, pattern)) }}
{%- endmacro %}

{% macro default__matches_fully(text_expression, pattern) -%}
    regexp_full_match({{ text_expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__matches_fully(text_expression, pattern) -%}
    ({{ text_expression }} rlike '^(?:{{ pattern | replace('\\', '\\\\') }})$')
{%- endmacro %}

{#- A text value at a JSON path ('$.a.b') of a JSON text, null when absent or not valid JSON. -#}
{% macro json_text(json_expression, path) -%}
    {{ return(adapter.dispatch('json_text')(json_expression, path)) }}
{%- endmacro %}

{% macro default__json_text(json_expression, path) -%}
    case
        when json_valid({{ json_expression }})
            then json_extract_string({{ json_expression }}, '{{ path }}')
    end
{%- endmacro %}

{% macro spark__json_text(json_expression, path) -%}
    get_json_object({{ json_expression }}, '{{ path }}')
{%- endmacro %}

{#- A value ordered by its fields in turn (max_by / min_by tie-breaks, distinct tuples). -#}
{% macro ordering_key(expressions) -%}
    {{ return(adapter.dispatch('ordering_key')(expressions)) }}
{%- endmacro %}

{% macro default__ordering_key(expressions) -%}
    row({{ expressions | join(', ') }})
{%- endmacro %}

{% macro spark__ordering_key(expressions) -%}
    struct({{ expressions | join(', ') }})
{%- endmacro %}

{#- The number of distinct (a, b, ...) tuples in a named window. -#}
{% macro distinct_count_in_window(expressions, window_name) -%}
    {{ return(adapter.dispatch('distinct_count_in_window')(expressions, window_name)) }}
{%- endmacro %}

{% macro default__distinct_count_in_window(expressions, window_name) -%}
    count(distinct row({{ expressions | join(', ') }})) over {{ window_name }}
{%- endmacro %}

{% macro spark__distinct_count_in_window(expressions, window_name) -%}
    size(collect_set(struct({{ expressions | join(', ') }})) over {{ window_name }})
{%- endmacro %}

{#- The sorted, de-duplicated items of a group's comma-separated text lists, joined with commas. -#}
{% macro merged_text_lists(expression) -%}
    {{ return(adapter.dispatch('merged_text_lists')(expression)) }}
{%- endmacro %}

{% macro default__merged_text_lists(expression) -%}
    array_to_string(
        list_sort(list_distinct(string_split(string_agg({{ expression }}, ','), ','))), ','
    )
{%- endmacro %}

{% macro spark__merged_text_lists(expression) -%}
    case
        when count({{ expression }}) > 0 then array_join(
            array_sort(array_distinct(split(concat_ws(',', collect_list({{ expression }})), ','))),
            ','
        )
    end
{%- endmacro %}

{#- Rows of the integers from start to stop inclusive, every step, as column_name. -#}
{% macro integer_series(start_expression, stop_expression, step, column_name) -%}
    {{ return(adapter.dispatch('integer_series')(
        start_expression, stop_expression, step, column_name
    )) }}
{%- endmacro %}

{% macro default__integer_series(start_expression, stop_expression, step, column_name) -%}
    unnest(generate_series({{ start_expression }}, {{ stop_expression }}, {{ step }}))
        as {{ column_name }}
{%- endmacro %}

{#- Spark's sequence fails where DuckDB's series is empty (stop before start): no rows there. -#}
{% macro spark__integer_series(start_expression, stop_expression, step, column_name) -%}
    explode(case
        when {{ start_expression }} <= {{ stop_expression }} then sequence(
            cast({{ start_expression }} as bigint), cast({{ stop_expression }} as bigint),
            cast({{ step }} as bigint)
        )
    end) as {{ column_name }}
{%- endmacro %}

{#- Rows of the dates from start to stop inclusive (none when stop is before start). -#}
{% macro date_series(start_date, stop_date, column_name) -%}
    {{ return(adapter.dispatch('date_series')(start_date, stop_date, column_name)) }}
{%- endmacro %}

{% macro default__date_series(start_date, stop_date, column_name) -%}
    cast(unnest(generate_series(
        cast({{ start_date }} as timestamp), cast({{ stop_date }} as timestamp), interval 1 day
    )) as date) as {{ column_name }}
{%- endmacro %}

{% macro spark__date_series(start_date, stop_date, column_name) -%}
    explode(case
        when {{ start_date }} <= {{ stop_date }}
            then sequence({{ start_date }}, {{ stop_date }}, interval 1 day)
    end) as {{ column_name }}
{%- endmacro %}

{#- Rows of the starts (timestamptz, UTC midnight) of the days from start to stop inclusive. -#}
{% macro utc_day_series(start_date, stop_date, column_name) -%}
    {{ return(adapter.dispatch('utc_day_series')(start_date, stop_date, column_name)) }}
{%- endmacro %}

{% macro default__utc_day_series(start_date, stop_date, column_name) -%}
    timezone('UTC', unnest(generate_series(
        cast({{ start_date }} as timestamp), cast({{ stop_date }} as timestamp), interval 1 day
    ))) as {{ column_name }}
{%- endmacro %}

{% macro spark__utc_day_series(start_date, stop_date, column_name) -%}
    explode(case
        when {{ start_date }} <= {{ stop_date }} then sequence(
            cast({{ start_date }} as timestamp), cast({{ stop_date }} as timestamp), interval 1 day
        )
    end) as {{ column_name }}
{%- endmacro %}

{#- The exact linear-interpolated quantile (DuckDB quantile_cont, Spark percentile). -#}
{% macro exact_quantile(expression, fraction) -%}
    {{ return(adapter.dispatch('exact_quantile')(expression, fraction)) }}
{%- endmacro %}

{% macro default__exact_quantile(expression, fraction) -%}
    quantile_cont({{ expression }}, {{ fraction }})
{%- endmacro %}

{% macro spark__exact_quantile(expression, fraction) -%}
    percentile({{ expression }}, {{ fraction }})
{%- endmacro %}

{#- The last (first) non-null value of a window frame. -#}
{% macro last_non_null(expression) -%}
    {{ return(adapter.dispatch('last_non_null')(expression)) }}
{%- endmacro %}

{% macro default__last_non_null(expression) -%}
    last_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(expression) -%}
    last_value({{ expression }}, true)
{%- endmacro %}

{% macro first_non_null(expression) -%}
    {{ return(adapter.dispatch('first_non_null')(expression)) }}
{%- endmacro %}

{% macro default__first_non_null(expression) -%}
    first_value({{ expression }} ignore nulls)
{%- endmacro %}

{% macro spark__first_non_null(expression) -%}
    first_value({{ expression }}, true)
{%- endmacro %}

{#- The sorted, de-duplicated values of a text column of a group, joined with commas. -#}
{% macro sorted_distinct_text(expression) -%}
    {{ return(adapter.dispatch('sorted_distinct_text')(expression)) }}
{%- endmacro %}

{% macro default__sorted_distinct_text(expression) -%}
    string_agg(distinct {{ expression }}, ',' order by {{ expression }})
{%- endmacro %}

{% macro spark__sorted_distinct_text(expression) -%}
    case
        when count({{ expression }}) > 0
            then array_join(array_sort(collect_set({{ expression }})), ',')
    end
{%- endmacro %}

{#- The exact quantiles of several fractions at once (one aggregate state), as a list. -#}
{% macro exact_quantiles(expression, fractions) -%}
    {{ return(adapter.dispatch('exact_quantiles')(expression, fractions)) }}
{%- endmacro %}

{% macro default__exact_quantiles(expression, fractions) -%}
    quantile_cont({{ expression }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{% macro spark__exact_quantiles(expression, fractions) -%}
    percentile({{ expression }}, array({{ fractions | join(', ') }}))
{%- endmacro %}

{#- The item at a 1-based position of a list. -#}
{% macro list_item(list_expression, position) -%}
    {{ return(adapter.dispatch('list_item')(list_expression, position)) }}
{%- endmacro %}

{% macro default__list_item(list_expression, position) -%}
    {{ list_expression }}[{{ position }}]
{%- endmacro %}

{% macro spark__list_item(list_expression, position) -%}
    element_at({{ list_expression }}, {{ position }})
{%- endmacro %}

{#- How a mart that only reshapes core tables is stored: a view on DuckDB (nothing to rewrite on
    each build; the serving file holds its query), a table on Spark (Parquet under the warehouse
    directory, which any reader can open; a Spark view can only be read through Spark). -#}
{% macro reshaping_materialization() -%}
    {{ return(adapter.dispatch('reshaping_materialization')()) }}
{%- endmacro %}

{% macro default__reshaping_materialization() -%}
    {{ return('view') }}
{%- endmacro %}

{% macro spark__reshaping_materialization() -%}
    {{ return('table') }}
{%- endmacro %}
