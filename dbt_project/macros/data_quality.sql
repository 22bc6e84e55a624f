{#- The data-quality policy's building blocks (docs/kpi_catalog.md, "Data-quality policy"). -#}

{#- An exchange id as staged: lower-cased and trimmed; null unless it matches
    ^[a-z0-9][a-z0-9_.-]*$ (so a partition such as '../../etc' or '__none__' is no exchange). -#}
{% macro valid_exchange_id(raw_exchange_id) -%}
    case
        when regexp_full_match(lower(trim({{ raw_exchange_id }})), '[a-z0-9][a-z0-9_.-]*')
            then lower(trim({{ raw_exchange_id }}))
    end
{%- endmacro %}

{#- Whether a timestamptz is plausible: not before var('min_plausible_ts_utc') and not later than
    the build's start plus var('max_future_ts_minutes'). -#}
{% macro is_plausible_ts(timestamp_expression) -%}
    (
        {{ timestamp_expression }} >= cast('{{ var("min_plausible_ts_utc") }}' as timestamptz)
        and {{ timestamp_expression }}
        <= {{ build_started_at() }} + to_minutes({{ var('max_future_ts_minutes') }})
    )
{%- endmacro %}

{#- A SQL list literal of the given strings: ('a', 'b'). -#}
{% macro sql_string_list(values) -%}
    ({%- for value in values %}'{{ value }}'{{ ", " if not loop.last }}{%- endfor %})
{%- endmacro %}
