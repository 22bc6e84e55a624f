{#- Merge overlapping or touching [watch_start_utc, watch_end_utc] spans of `spans` (a CTE or
    relation) into islands per key: one row per key and island with its start and end. -#}
{% macro merge_watch_spans(spans, key_columns) -%}
    {%- set keys = key_columns | join(", ") -%}
    select
        {{ keys }},
        min(watch_start_utc) as watch_start_utc,
        max(watch_end_utc) as watch_end_utc
    from (
        select
            *,
            sum(case when starts_island then 1 else 0 end) over (
                partition by {{ keys }}
                order by watch_start_utc, watch_end_utc
                rows between unbounded preceding and current row
            ) as island_number
        from (
            select
                *,
                coalesce(
                    watch_start_utc > max(watch_end_utc) over (
                        partition by {{ keys }}
                        order by watch_start_utc, watch_end_utc
                        rows between unbounded preceding and 1 preceding
                    ),
                    true
                ) as starts_island
            from {{ spans }}
        ) as spans_flagged
    ) as spans_numbered
    group by {{ keys }}, island_number
{%- endmacro %}
