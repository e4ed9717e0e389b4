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

unknown_member as (
    {{ unknown_member(overrides={'state_code': "'??'", 'seller_zip3': 'null'}) }}
),

final as (
    select * from known
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
