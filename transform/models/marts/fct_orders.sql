-- Grain: one order. Items, payments and reviews are aggregated per order BEFORE joining, so no
-- total is multiplied by another table's rows (the predecessor's dashboard double-counted that way).
with

orders as (
    select * from {{ ref('orders') }}
),

customers as (
    select * from {{ ref('customers') }}
),

order_items as (
    select * from {{ ref('order_items') }}
),

payments as (
    select * from {{ ref('order_payments') }}
),

reviews as (
    select * from {{ ref('order_reviews') }}
),

ipca as (
    select * from {{ ref('fct_ipca_monthly') }}
),

-- Privacy policy (meta.privacy in _marts__models.yml): a reader can join an order to its customer's
-- state and zip3, so every date of the order is published at the finest grain (day, month, quarter,
-- year) at which its (state, zip3, date) group holds at least k people. Durations (delivery_days,
-- delivery_hours) are computed from the exact times.
customer_places as (
    select * from {{ ref('dim_customer') }}
),

order_places as (
    select
        orders.order_id,
        -- Only people whose order has items and a payment count: fct_order_items and fct_payments (same
        -- dates) must hold k people per group too.
        case
            when orders.order_id in (select order_id from order_items)
                and orders.order_id in (select order_id from payments)
                then customer_places.customer_unique_token
        end as customer_unique_token,
        customer_places.state_code,
        customer_places.customer_zip3,
        orders.purchased_at
    from orders
    left join customer_places
        on coalesce(orders.customer_token, 'unknown') = customer_places.customer_key
),

{{ generalize_time(
    'order_places',
    'order_id',
    partition_by=['state_code', 'customer_zip3'],
    entity='customer_unique_token',
    time_column='purchased_at'
) }},

items_per_order as (
    select
        order_id,
        count(*) as item_count,
        sum(price) as items_price,
        sum(freight_value) as items_freight
    from order_items
    group by order_id
),

payments_per_order as (
    select
        order_id,
        count(*) as payment_count,
        sum(payment_value) as payment_total
    from payments
    group by order_id
),

latest_review as (
    select
        order_id,
        review_score,
        row_number() over (
            partition by order_id
            order by review_answered_at desc nulls last, review_created_at desc, review_id
        ) as review_rank
    from reviews
),

final as (
    select
        cast(orders.order_id as varchar) as order_id,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(orders.order_status as varchar) as order_status,
        cast(published_time.published_date as date) as purchase_date,
        cast(published_time.time_grain as varchar) as time_grain,
        {{ truncate_to_grain('orders.purchased_at', 'published_time.time_grain') }} as purchased_at,
        {{ truncate_to_grain('orders.approved_at', 'published_time.time_grain') }} as approved_at,
        {{ truncate_to_grain('orders.delivered_to_carrier_at', 'published_time.time_grain') }} as delivered_to_carrier_at,
        {{ truncate_to_grain('orders.delivered_to_customer_at', 'published_time.time_grain') }} as delivered_to_customer_at,
        {{ truncate_to_grain('orders.estimated_delivery_at', 'published_time.time_grain') }} as estimated_delivery_at,
        cast(
            {{ days_between('orders.purchased_at', 'orders.delivered_to_customer_at') }} as integer
        ) as delivery_days,
        cast(
            {{ dbt.datediff('orders.purchased_at', 'orders.delivered_to_customer_at', 'hour') }} as integer
        ) as delivery_hours,
        -- Late: delivered on a later calendar day than estimated. Unknown (null) until delivered.
        case
            when orders.delivered_to_customer_at is null or orders.estimated_delivery_at is null
                then null
            else cast(orders.delivered_to_customer_at as date) > cast(orders.estimated_delivery_at as date)
        end as is_late,
        cast(coalesce(items_per_order.item_count, 0) as integer) as item_count,
        cast(coalesce(items_per_order.items_price, 0) as numeric(14, 2)) as items_price,
        cast(coalesce(items_per_order.items_freight, 0) as numeric(14, 2)) as items_freight,
        cast(
            coalesce(items_per_order.items_price, 0) + coalesce(items_per_order.items_freight, 0)
            as numeric(14, 2)
        ) as items_total,
        cast(
            (coalesce(items_per_order.items_price, 0) + coalesce(items_per_order.items_freight, 0))
            * ipca.deflator_to_base
            as numeric(14, 2)
        ) as items_total_base_brl,
        cast(coalesce(payments_per_order.payment_count, 0) as integer) as payment_count,
        cast(coalesce(payments_per_order.payment_total, 0) as numeric(14, 2)) as payment_total,
        cast(latest_review.review_score as integer) as review_score
    from orders
    inner join _time_final as published_time
        on orders.order_id = published_time.order_id
    left join customers
        on orders.customer_token = customers.customer_token
    left join items_per_order
        on orders.order_id = items_per_order.order_id
    left join payments_per_order
        on orders.order_id = payments_per_order.order_id
    left join latest_review
        on orders.order_id = latest_review.order_id
        and latest_review.review_rank = 1
    left join ipca
        on {{ dbt.date_trunc('month', 'orders.purchased_at') }} = cast(ipca.month_start as timestamp)
)

select
    order_id,
    customer_key,
    order_status,
    purchase_date,
    time_grain,
    purchased_at,
    approved_at,
    delivered_to_carrier_at,
    delivered_to_customer_at,
    estimated_delivery_at,
    delivery_days,
    delivery_hours,
    is_late,
    item_count,
    items_price,
    items_freight,
    items_total,
    items_total_base_brl,
    payment_count,
    payment_total,
    review_score
from final
