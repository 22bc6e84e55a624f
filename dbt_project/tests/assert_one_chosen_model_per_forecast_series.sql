-- Exactly one model is chosen (is_chosen) per series in every forecast run: the dashboard
-- publishes that model's forecast. Returns the (run, series) that break it.
select
    run_id,
    exchange_id,
    symbol,
    count_if(is_chosen) as chosen_models
from {{ ref('stg_forecast__metrics') }}
group by run_id, exchange_id, symbol
having count_if(is_chosen) != 1
