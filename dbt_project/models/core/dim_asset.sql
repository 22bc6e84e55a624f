-- One row per canonical asset: every asset in the canonical_assets seed plus any asset seen in a
-- market that the seed does not list (asset_name null, is_in_seed false).
with

canonical_assets as (
    select * from {{ ref('canonical_assets') }}
),

markets as (
    select * from {{ ref('dim_market') }}
),

seed_assets as (
    select
        canonical_asset as asset,
        min(asset_name) as asset_name,
        {{ sorted_distinct_text('asset_code') }} as asset_codes
    from canonical_assets
    group by canonical_asset
),

market_assets as (
    select base_asset as asset from markets
    union
    select quote_asset as asset from markets
),

final as (
    select
        coalesce(seed_assets.asset, market_assets.asset) as asset,
        seed_assets.asset_name,
        coalesce(seed_assets.asset_codes, market_assets.asset) as asset_codes,
        seed_assets.asset is not null as is_in_seed,
        market_assets.asset is not null as is_traded
    from seed_assets
    full outer join market_assets
        on seed_assets.asset = market_assets.asset
    where coalesce(seed_assets.asset, market_assets.asset) is not null
)

select * from final
