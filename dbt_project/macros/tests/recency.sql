{#- Fails (or warns) when the newest value of a timestamp column is older than max_age_hours
    before the build's start time. -#}
{% test recency(model, column_name, max_age_hours) %}
    select max({{ column_name }}) as newest_value
    from {{ model }}
    having
        max({{ column_name }}) is null
        or max({{ column_name }})
        < {{ utc_timestamp_literal(run_started_at.strftime("%Y-%m-%d %H:%M:%S")) }}
        - {{ interval_of(max_age_hours, 'hour') }}
{% endtest %}
