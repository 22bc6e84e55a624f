-- One row per forecast run written by `make forecast` (runs are kept: the track record), typed;
-- empty until the first run.
with

source as (
    {{ select_from_optional_source('forecast', 'forecast_runs', [
        ('run_id', 'varchar'),
        ('created_at_utc', 'timestamptz'),
        ('models', 'varchar'),
        ('settings_json', 'varchar'),
        ('series_in_grid', 'integer'),
        ('series_forecast', 'integer'),
        ('series_skipped', 'integer'),
        ('forecast_rows', 'integer'),
    ]) }}
),

final as (
    select * from source
)

select * from final
