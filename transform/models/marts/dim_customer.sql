with

customers as (
    select * from {{ ref('customers') }}
),

states as (
    select * from {{ ref('br_states') }}
),

known as (
    select
        cast(customers.customer_token as varchar) as customer_key,
        cast(customers.customer_unique_token as varchar) as customer_unique_token,
        cast(coalesce(states.state_code, '??') as varchar) as state_code,
        cast(coalesce(states.region, 'unknown') as varchar) as region,
        cast(customers.customer_zip3 as varchar) as customer_zip3
    from customers
    left join states
        on customers.customer_state = states.state_code
),

unknown_member as (
    {{ unknown_member(overrides={'state_code': "'??'", 'customer_zip3': 'null'}) }}
),

final as (
    select * from known
    union all
    select * from unknown_member
)

select
    customer_key,
    customer_unique_token,
    state_code,
    region,
    customer_zip3
from final
