{{ config(materialized=reshaping_materialization()) }}

-- What the data-quality policy quarantined, flagged and monitored per (kpi_date_utc, exchange_id,
-- check_name), for the dashboard's data-quality view (fct_data_quality_daily), with the kind and
-- the check spelled out for a reader (check_kind_label, check_label: 'null_price' -> 'Null price').
with

data_quality_daily as (
    select * from {{ ref('fct_data_quality_daily') }}
),

final as (
    select
        kpi_date_utc,
        exchange_id,
        check_kind,
        check_name,
        case check_kind
            when 'quarantined_tick' then 'Tick quarantined (kept out of every KPI)'
            when 'quarantined_event' then 'Connection event quarantined'
            when 'flagged_tick' then 'Tick flagged'
            when 'flagged_bucket' then 'Bucket flagged'
            when 'monitored' then 'Monitored check (counted, kept)'
            else check_kind
        end as check_kind_label,
        upper(substr(check_name, 1, 1))
        || replace(substr(check_name, 2), '_', ' ') as check_label,
        row_count
    from data_quality_daily
)

select * from final
