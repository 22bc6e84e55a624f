{#- The data-quality policy's building blocks (docs/kpi_catalog.md, "Data-quality policy"). -#}

{#- An exchange id as staged: lower-cased and trimmed; null unless it matches
    ^[a-z0-9][a-z0-9_.-]*$ (so a partition such as '../../etc' or '__none__' is no exchange). -#}
{% macro valid_exchange_id(raw_exchange_id) -%}
    case
        when {{ matches_fully('lower(trim(' ~ raw_exchange_id ~ '))', '[a-z0-9][a-z0-9_.-]*') }}
            then lower(trim({{ raw_exchange_id }}))
    end
{%- endmacro %}

{#- Whether a timestamptz is plausible: not before var('min_plausible_ts_utc') and not later than
    the build's start plus var('max_future_ts_minutes'). -#}
{% macro is_plausible_ts(timestamp_expression) -%}
    (
        {{ timestamp_expression }} >= {{ utc_timestamp_literal(var("min_plausible_ts_utc")) }}
        and {{ timestamp_expression }}
        <= {{ build_started_at() }} + {{ interval_of(var('max_future_ts_minutes'), 'minute') }}
    )
{%- endmacro %}

{#- A SQL list literal of the given strings: ('a', 'b'). -#}
{% macro sql_string_list(values) -%}
    ({%- for value in values %}'{{ value }}'{{ ", " if not loop.last }}{%- endfor %})
{%- endmacro %}

{#- The per-day count columns of cln_dq_daily that the pair and run summaries sum. -#}
{% macro dq_count_columns() -%}
    {{ return([
        'landed_rows', 'staged_ticks', 'live_ticks', 'backfill_rows',
        'exact_duplicates_removed', 'same_time_duplicate_count', 'replay_count',
        'duplicate_tick_count', 'negative_numeric_count', 'bid_above_ask_count',
        'implausible_exchange_ts_count', 'outlier_return_count', 'total_buckets',
        'observed_buckets', 'backfill_buckets', 'forward_fill_buckets',
        'interpolation_buckets', 'missing_buckets', 'stale_buckets',
    ]) }}
{%- endmacro %}
