-- The track record rolled up: how past forecasts did against what then happened, per exchange,
-- coin, model and horizon step, over every kept run (mart_forecast_outcomes).
-- realised_coverage_80 / _95 = share of actuals inside the interval, beside the nominal 0.80 /
-- 0.95; mae_vs_naive = the model's realised MAE / the Naive model's realised MAE on the same
-- runs and buckets (< 1: it beat the naive forecast). chosen_forecasts counts the forecasts that
-- were published (the model was chosen for that run).
-- Grain: one row per (exchange_id, symbol, model, horizon_step).
with

outcomes as (
    select * from {{ ref('mart_forecast_outcomes') }}
),

naive_errors as (
    select
        run_id,
        exchange_id,
        symbol,
        forecast_bucket_utc,
        abs_error as naive_abs_error
    from outcomes
    where model = 'Naive'
),

outcomes_with_naive as (
    select
        outcomes.*,
        naive_errors.naive_abs_error
    from outcomes
    left join naive_errors
        on
            outcomes.run_id = naive_errors.run_id
            and outcomes.exchange_id = naive_errors.exchange_id
            and outcomes.symbol = naive_errors.symbol
            and outcomes.forecast_bucket_utc = naive_errors.forecast_bucket_utc
),

final as (
    select
        exchange_id,
        symbol,
        max(base_asset) as base_asset,
        max(quote_asset) as quote_asset,
        model,
        horizon_step,
        count(*) as forecasts,
        count(distinct run_id) as runs,
        cast(count_if(was_chosen) as bigint) as chosen_forecasts,
        min(forecast_bucket_utc) as first_forecast_bucket_utc,
        max(forecast_bucket_utc) as last_forecast_bucket_utc,
        avg(abs_error) as realised_mae,
        sqrt(avg(error * error)) as realised_rmse,
        avg(abs_pct_error) as realised_mape,
        avg(abs_error) / nullif(avg(naive_abs_error), 0) as mae_vs_naive,
        avg(case when is_inside_80 then 1 else 0 end) as realised_coverage_80,
        cast(0.80 as decimal(3, 2)) as nominal_coverage_80,
        avg(case when is_inside_95 then 1 else 0 end) as realised_coverage_95,
        cast(0.95 as decimal(3, 2)) as nominal_coverage_95
    from outcomes_with_naive
    group by exchange_id, symbol, model, horizon_step
)

select * from final
