-- Cross-validated forecast accuracy written by `make forecast`, typed; empty until the first run.
with

source as (
    {{ select_from_optional_source('forecast', 'forecast_metrics', [
        ('run_id', 'varchar'),
        ('exchange_id', 'varchar'),
        ('symbol', 'varchar'),
        ('model', 'varchar'),
        ('mae', 'double'),
        ('rmse', 'double'),
        ('mape', 'double'),
        ('mase', 'double'),
        ('is_chosen', 'boolean'),
        ('cv_windows', 'integer'),
        ('horizon', 'integer'),
        ('n_train_points', 'integer'),
        ('created_at_utc', 'timestamptz'),
    ]) }}
),

final as (
    select * from source
)

select * from final
