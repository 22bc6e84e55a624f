{#- Fails (or warns, with severity: warn) when the model has no rows. -#}
{% test not_empty(model) %}
    select 'model is empty' as problem
    where not exists (select 1 from {{ model }})
{% endtest %}
