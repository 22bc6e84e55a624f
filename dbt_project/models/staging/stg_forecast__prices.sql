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

final as (
    select * from source
)

select * from final
