-- The track record, per forecast: every kept run's forecast (every model) whose bucket has an
-- actual by now, with its realised error and whether the actual fell inside each interval.
-- Actuals are cln_forecast_input's usable prices (observed, backfilled or fresh forward fill,
-- never interpolated), the same rule the forecaster scores by. Forecasts whose bucket has no
-- usable price yet (the future, or a gap) are left out until it arrives.
-- run_label names a run's forecast by its first bucket ('from 2026-01-02 03:00 UTC').
-- Grain: one row per (run_id, exchange_id, symbol, model, forecast_bucket_utc).
with

forecast_prices as (
    select * from {{ ref('stg_forecast__prices') }}
),

forecast_metrics as (
    select * from {{ ref('stg_forecast__metrics') }}
),

forecast_input as (
    select * from {{ ref('cln_forecast_input') }}
    where is_usable
),

markets as (
    select * from {{ ref('dim_market') }}
),

forecasts_with_first_bucket as (
    select
        *,
        min(forecast_bucket_utc) over (
            partition by run_id, exchange_id, symbol, model
        ) as first_forecast_bucket_utc
    from forecast_prices
),

forecasts_with_actuals as (
    select
        forecasts_with_first_bucket.run_id,
        forecasts_with_first_bucket.created_at_utc as run_created_at_utc,
        forecasts_with_first_bucket.exchange_id,
        forecasts_with_first_bucket.symbol,
        forecasts_with_first_bucket.model,
        forecasts_with_first_bucket.forecast_bucket_utc,
        forecasts_with_first_bucket.horizon_step,
        forecasts_with_first_bucket.first_forecast_bucket_utc,
        forecasts_with_first_bucket.yhat,
        forecasts_with_first_bucket.yhat_lo_80,
        forecasts_with_first_bucket.yhat_hi_80,
        forecasts_with_first_bucket.yhat_lo_95,
        forecasts_with_first_bucket.yhat_hi_95,
        forecast_input.usable_price as actual_price
    from forecasts_with_first_bucket
    inner join forecast_input
        on
            forecasts_with_first_bucket.exchange_id = forecast_input.exchange_id
            and forecasts_with_first_bucket.symbol = forecast_input.symbol
            and forecasts_with_first_bucket.forecast_bucket_utc = forecast_input.bucket_start_utc
),

final as (
    select
        forecasts_with_actuals.run_id,
        forecasts_with_actuals.run_created_at_utc,
        forecasts_with_actuals.exchange_id,
        forecasts_with_actuals.symbol,
        markets.base_asset,
        markets.quote_asset,
        forecasts_with_actuals.model,
        coalesce(forecast_metrics.is_chosen, false) as was_chosen,
        forecasts_with_actuals.forecast_bucket_utc,
        forecasts_with_actuals.horizon_step,
        'from '
        || {{ utc_minute_label('forecasts_with_actuals.first_forecast_bucket_utc') }} as run_label,
        forecasts_with_actuals.yhat,
        forecasts_with_actuals.yhat_lo_80,
        forecasts_with_actuals.yhat_hi_80,
        forecasts_with_actuals.yhat_lo_95,
        forecasts_with_actuals.yhat_hi_95,
        forecasts_with_actuals.actual_price,
        forecasts_with_actuals.actual_price - forecasts_with_actuals.yhat as error,
        abs(forecasts_with_actuals.actual_price - forecasts_with_actuals.yhat) as abs_error,
        100.0
        * abs(forecasts_with_actuals.actual_price - forecasts_with_actuals.yhat)
        / forecasts_with_actuals.actual_price as abs_pct_error,
        forecasts_with_actuals.actual_price
        between forecasts_with_actuals.yhat_lo_80
        and forecasts_with_actuals.yhat_hi_80 as is_inside_80,
        forecasts_with_actuals.actual_price
        between forecasts_with_actuals.yhat_lo_95
        and forecasts_with_actuals.yhat_hi_95 as is_inside_95
    from forecasts_with_actuals
    left join forecast_metrics
        on
            forecasts_with_actuals.run_id = forecast_metrics.run_id
            and forecasts_with_actuals.exchange_id = forecast_metrics.exchange_id
            and forecasts_with_actuals.symbol = forecast_metrics.symbol
            and forecasts_with_actuals.model = forecast_metrics.model
    left join markets
        on
            forecasts_with_actuals.exchange_id = markets.exchange_id
            and forecasts_with_actuals.symbol = markets.symbol
)

select * from final
