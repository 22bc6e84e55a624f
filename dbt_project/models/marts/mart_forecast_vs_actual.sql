-- Actual grid prices for the last forecast_actual_hours before the newest bucket (model 'actual')
-- plus the chosen model's forecast from the newest run of each (exchange_id, symbol), with the
-- actual price where the forecast bucket has already been observed.
-- Grain: (exchange_id, symbol, bucket_start_utc, model).
with

market_grid as {{ inlined() }} (
    select * from {{ ref('cln_market_grid') }}
),

forecast_prices as (
    select * from {{ ref('stg_forecast__prices') }}
),

forecast_metrics as (
    select * from {{ ref('stg_forecast__metrics') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

newest_bucket as (
    select max(bucket_start_utc) as newest_bucket_start_utc from market_grid
),

recent_actuals as (
    select
        market_grid.exchange_id,
        market_grid.symbol,
        market_grid.bucket_start_utc,
        'actual' as model,
        market_grid.price as actual_price,
        cast(null as double) as yhat,
        cast(null as double) as yhat_lo_80,
        cast(null as double) as yhat_hi_80,
        cast(null as double) as yhat_lo_95,
        cast(null as double) as yhat_hi_95,
        false as is_forecast
    from market_grid
    cross join newest_bucket
    where
        market_grid.bucket_start_utc
        > newest_bucket.newest_bucket_start_utc
        - {{ interval_of(var('forecast_actual_hours'), 'hour') }}
),

chosen_models as (
    select
        run_id,
        exchange_id,
        symbol,
        model
    from forecast_metrics
    where is_chosen
    qualify run_id = first(run_id) over (
        partition by exchange_id, symbol order by created_at_utc desc, run_id desc
    )
),

chosen_forecasts as (
    select
        forecast_prices.exchange_id,
        forecast_prices.symbol,
        forecast_prices.forecast_bucket_utc as bucket_start_utc,
        forecast_prices.model,
        market_grid.price as actual_price,
        forecast_prices.yhat,
        forecast_prices.yhat_lo_80,
        forecast_prices.yhat_hi_80,
        forecast_prices.yhat_lo_95,
        forecast_prices.yhat_hi_95,
        true as is_forecast
    from forecast_prices
    inner join chosen_models
        on
            forecast_prices.run_id = chosen_models.run_id
            and forecast_prices.exchange_id = chosen_models.exchange_id
            and forecast_prices.symbol = chosen_models.symbol
            and forecast_prices.model = chosen_models.model
    left join market_grid
        on
            forecast_prices.exchange_id = market_grid.exchange_id
            and forecast_prices.symbol = market_grid.symbol
            and forecast_prices.forecast_bucket_utc = market_grid.bucket_start_utc
),

actuals_and_forecasts as (
    select * from recent_actuals
    union all
    select * from chosen_forecasts
),

final as (
    select
        actuals_and_forecasts.exchange_id,
        actuals_and_forecasts.symbol,
        markets.base_asset,
        markets.quote_asset,
        actuals_and_forecasts.bucket_start_utc,
        actuals_and_forecasts.model,
        actuals_and_forecasts.actual_price,
        actuals_and_forecasts.yhat,
        actuals_and_forecasts.yhat_lo_80,
        actuals_and_forecasts.yhat_hi_80,
        actuals_and_forecasts.yhat_lo_95,
        actuals_and_forecasts.yhat_hi_95,
        actuals_and_forecasts.is_forecast
    from actuals_and_forecasts
    left join markets
        on
            actuals_and_forecasts.exchange_id = markets.exchange_id
            and actuals_and_forecasts.symbol = markets.symbol
)

select * from final
