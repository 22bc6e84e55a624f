-- Forecasts written by `make forecast`, typed; empty until the first forecast run.
with

source as (
    {{ select_from_optional_source('forecast', 'forecast_prices', [
        ('run_id', 'varchar'),
        ('exchange_id', 'varchar'),
        ('symbol', 'varchar'),
        ('forecast_bucket_utc', 'timestamptz'),
        ('horizon_step', 'integer'),
        ('model', 'varchar'),
        ('yhat', 'double'),
        ('yhat_lo_80', 'double'),
        ('yhat_hi_80', 'double'),
        ('yhat_lo_95', 'double'),
        ('yhat_hi_95', 'double'),
        ('created_at_utc', 'timestamptz'),
    ]) }}
),

-- Only runs whose forecast_runs row exists: the forecaster writes that row last, so a run that
-- stopped midway (possible on Spark, where a run's tables are not written in one transaction) is
-- not read.
complete_runs as (
    select run_id from {{ ref('stg_forecast__runs') }}
),

final as (
    select source.*
    from source
    inner join complete_runs on source.run_id = complete_runs.run_id
)

select * from final
