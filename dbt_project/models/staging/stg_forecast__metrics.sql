-- Nested cross-validated accuracy written by `make forecast`, typed; empty until the first run.
-- mae .. coverage_95 come from the test windows (test_from_utc .. test_to_utc), the validation_*
-- figures from the earlier validation windows the model was chosen on.
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
        ('coverage_80', 'double'),
        ('coverage_95', 'double'),
        ('n_test_points', 'integer'),
        ('test_windows', 'integer'),
        ('test_from_utc', 'timestamptz'),
        ('test_to_utc', 'timestamptz'),
        ('validation_mase', 'double'),
        ('validation_coverage_80', 'double'),
        ('validation_coverage_95', 'double'),
        ('n_validation_points', 'integer'),
        ('validation_windows', 'integer'),
        ('validation_from_utc', 'timestamptz'),
        ('validation_to_utc', 'timestamptz'),
        ('is_calibrated', 'boolean'),
        ('is_chosen', 'boolean'),
        ('horizon', 'integer'),
        ('n_train_points', 'integer'),
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
