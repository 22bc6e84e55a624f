-- Every forecast series (run, exchange, market) has exactly one chosen model: the one whose
-- forecast the dashboards publish. Returns each series with another number of chosen models.
select
    run_id,
    exchange_id,
    symbol,
    count(*) filter (where is_chosen) as chosen_models
from {{ ref('stg_forecast__metrics') }}
group by run_id, exchange_id, symbol
having count(*) filter (where is_chosen) != 1
