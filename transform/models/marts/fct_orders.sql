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
        cast(orders.purchased_at as date) as purchase_date,
        cast(orders.purchased_at as timestamp) as purchased_at,
        cast(orders.approved_at as timestamp) as approved_at,
        cast(orders.delivered_to_carrier_at as timestamp) as delivered_to_carrier_at,
        cast(orders.delivered_to_customer_at as timestamp) as delivered_to_customer_at,
        cast(orders.estimated_delivery_at as timestamp) as estimated_delivery_at,
        cast(
            {{ days_between('orders.purchased_at', 'orders.delivered_to_customer_at') }} as integer
        ) as delivery_days,
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
    purchased_at,
    approved_at,
    delivered_to_carrier_at,
    delivered_to_customer_at,
    estimated_delivery_at,
    delivery_days,
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
