-- Grain: one order item (order_id, order_item_id).
with

order_items as (
    select * from {{ ref('order_items') }}
),

orders as (
    select * from {{ ref('orders') }}
),

customers as (
    select * from {{ ref('customers') }}
),

products as (
    select * from {{ ref('products') }}
),

sellers as (
    select * from {{ ref('sellers') }}
),

-- Dates at the grain the privacy policy gave the order (see fct_orders).
published_orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        cast(order_items.order_id || '-' || cast(order_items.order_item_id as varchar) as varchar) as order_item_key,
        cast(order_items.order_id as varchar) as order_id,
        cast(order_items.order_item_id as integer) as order_item_id,
        cast(coalesce(products.product_id, 'unknown') as varchar) as product_key,
        cast(coalesce(sellers.seller_id, 'unknown') as varchar) as seller_key,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(published_orders.purchase_date as date) as purchase_date,
        cast(published_orders.time_grain as varchar) as time_grain,
        {{ truncate_to_grain('order_items.shipping_limit_at', 'published_orders.time_grain') }} as shipping_limit_at,
        cast(order_items.price as numeric(12, 2)) as price,
        cast(order_items.freight_value as numeric(12, 2)) as freight_value,
        cast(order_items.price + order_items.freight_value as numeric(12, 2)) as item_total
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
    inner join published_orders
        on order_items.order_id = published_orders.order_id
    left join customers
        on orders.customer_token = customers.customer_token
    left join products
        on order_items.product_id = products.product_id
    left join sellers
        on order_items.seller_id = sellers.seller_id
)

select
    order_item_key,
    order_id,
    order_item_id,
    product_key,
    seller_key,
    customer_key,
    purchase_date,
    time_grain,
    shipping_limit_at,
    price,
    freight_value,
    item_total
from final
