{{ config(materialized='view') }}

-- What the data-quality policy quarantined, flagged and monitored per (kpi_date_utc, exchange_id,
-- check_name), for the dashboard's data-quality view (fct_data_quality_daily).
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
        row_count
    from data_quality_daily
)

select * from final
