with

customers as (
    select * from {{ ref('customers') }}
),

states as (
    select * from {{ ref('br_states') }}
),

orders as (
    select * from {{ ref('orders') }}
),

-- The customers present in every customer-linked fact (an order with items, a payment and a review):
-- only they count towards a group, so each fact a reader joins here holds k people per place too.
customers_in_every_fact as (
    select orders.customer_token
    from orders
    where orders.order_id in (select order_id from {{ ref('order_items') }})
        and orders.order_id in (select order_id from {{ ref('order_payments') }})
        and orders.order_id in (select order_id from {{ ref('order_reviews') }})
),

known as (
    select
        cast(customers.customer_token as varchar) as customer_key,
        cast(customers.customer_unique_token as varchar) as customer_unique_token,
        cast(coalesce(states.state_code, '??') as varchar) as state_code,
        cast(coalesce(states.region, 'unknown') as varchar) as region,
        cast(customers.customer_zip3 as varchar) as customer_zip3,
        case
            when customers.customer_token in (select customer_token from customers_in_every_fact)
                then customers.customer_unique_token
        end as counted_person
    from customers
    left join states
        on customers.customer_state = states.state_code
),

-- Privacy policy (meta.privacy in _marts__models.yml): a zip3 whose group holds fewer than k people falls
-- back to its state (zip3 null); a state that still leaves fewer than k people is suppressed ('??').
zip3_generalised as (
    {{ generalize_small_groups(
        'known',
        ['customer_key', 'customer_unique_token', 'state_code', 'region', 'customer_zip3', 'counted_person'],
        group_by=['state_code', 'customer_zip3'],
        entity='counted_person',
        generalized={'customer_zip3': 'null'},
        k=privacy_min_group('customer_zip3')
    ) }}
),

published as (
    {{ generalize_small_groups(
        'zip3_generalised',
        ['customer_key', 'customer_unique_token', 'state_code', 'region', 'customer_zip3'],
        group_by=['state_code', 'customer_zip3'],
        entity='counted_person',
        generalized={'state_code': "'??'", 'region': "'unknown'", 'customer_zip3': 'null'}
    ) }}
),

unknown_member as (
    {{ unknown_member(overrides={'state_code': "'??'", 'customer_zip3': 'null'}) }}
),

final as (
    select * from published
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
