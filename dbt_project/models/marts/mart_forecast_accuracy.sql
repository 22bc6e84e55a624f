-- Forecast accuracy of the newest forecast run of each (exchange_id, symbol), one row per model,
-- measured on the test windows (test_from_utc .. test_to_utc), which played no part in choosing
-- the model (it was chosen on the earlier validation windows: validation_mase, is_calibrated).
-- mase_vs_naive = mase / the Naive baseline's mase in the same run (< 1: better than naive);
-- coverage_80 / coverage_95 = share of test actuals inside the interval, beside the nominal level.
with

forecast_metrics as (
    select * from {{ ref('stg_forecast__metrics') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

newest_run_metrics as (
    select * from forecast_metrics
    qualify run_id = first(run_id) over (
        partition by exchange_id, symbol order by created_at_utc desc, run_id desc
    )
),

naive_baselines as (
    select
        exchange_id,
        symbol,
        mase as naive_mase
    from newest_run_metrics
    where lower(model) = 'naive'
),

final as (
    select
        newest_run_metrics.exchange_id,
        newest_run_metrics.symbol,
        markets.base_asset,
        markets.quote_asset,
        newest_run_metrics.model,
        newest_run_metrics.mae,
        newest_run_metrics.rmse,
        newest_run_metrics.mape,
        newest_run_metrics.mase,
        newest_run_metrics.is_chosen,
        newest_run_metrics.mase / nullif(naive_baselines.naive_mase, 0) as mase_vs_naive,
        newest_run_metrics.coverage_80,
        cast(0.80 as decimal(3, 2)) as nominal_coverage_80,
        newest_run_metrics.coverage_95,
        cast(0.95 as decimal(3, 2)) as nominal_coverage_95,
        newest_run_metrics.n_test_points,
        newest_run_metrics.test_from_utc,
        newest_run_metrics.test_to_utc,
        newest_run_metrics.validation_mase,
        newest_run_metrics.is_calibrated,
        newest_run_metrics.run_id
    from newest_run_metrics
    left join naive_baselines
        on
            newest_run_metrics.exchange_id = naive_baselines.exchange_id
            and newest_run_metrics.symbol = naive_baselines.symbol
    left join markets
        on
            newest_run_metrics.exchange_id = markets.exchange_id
            and newest_run_metrics.symbol = markets.symbol
)

select * from final
