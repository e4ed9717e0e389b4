with

sellers as (
    select * from {{ ref('sellers') }}
),

states as (
    select * from {{ ref('br_states') }}
),

known as (
    select
        cast(sellers.seller_id as varchar) as seller_key,
        cast(sellers.seller_city as varchar) as seller_city,
        cast(coalesce(states.state_code, '??') as varchar) as state_code,
        cast(coalesce(states.region, 'unknown') as varchar) as region,
        cast(sellers.seller_zip3 as varchar) as seller_zip3
    from sellers
    left join states
        on sellers.seller_state = states.state_code
),

-- Privacy policy (meta.privacy in _marts__models.yml; many sellers are individuals): a city with fewer
-- than k sellers in its state is generalised to the state (city null), then a zip3 with fewer than k
-- sellers in its (state, city); a seller still in a group below k is suppressed to the unknown state.
city_generalised as (
    {{ generalize_small_groups(
        'known',
        ['seller_key', 'seller_city', 'state_code', 'region', 'seller_zip3'],
        group_by=['state_code', 'seller_city'],
        entity='seller_key',
        generalized={'seller_city': 'null'}
    ) }}
),

zip3_generalised as (
    {{ generalize_small_groups(
        'city_generalised',
        ['seller_key', 'seller_city', 'state_code', 'region', 'seller_zip3'],
        group_by=['state_code', 'seller_city', 'seller_zip3'],
        entity='seller_key',
        generalized={'seller_zip3': 'null'}
    ) }}
),

published as (
    {{ generalize_small_groups(
        'zip3_generalised',
        ['seller_key', 'seller_city', 'state_code', 'region', 'seller_zip3'],
        group_by=['state_code', 'seller_city', 'seller_zip3'],
        entity='seller_key',
        generalized={'state_code': "'??'", 'region': "'unknown'", 'seller_city': 'null', 'seller_zip3': 'null'}
    ) }}
),

unknown_member as (
    {{ unknown_member(overrides={'state_code': "'??'", 'seller_zip3': 'null'}) }}
),

final as (
    select * from published
    union all
    select * from unknown_member
)

select
    seller_key,
    seller_city,
    state_code,
    region,
    seller_zip3
from final
