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

final as (
    select
        cast(order_items.order_id || '-' || cast(order_items.order_item_id as varchar) as varchar) as order_item_key,
        cast(order_items.order_id as varchar) as order_id,
        cast(order_items.order_item_id as integer) as order_item_id,
        cast(coalesce(products.product_id, 'unknown') as varchar) as product_key,
        cast(coalesce(sellers.seller_id, 'unknown') as varchar) as seller_key,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(orders.purchased_at as date) as purchase_date,
        cast(order_items.shipping_limit_at as timestamp) as shipping_limit_at,
        cast(order_items.price as numeric(12, 2)) as price,
        cast(order_items.freight_value as numeric(12, 2)) as freight_value,
        cast(order_items.price + order_items.freight_value as numeric(12, 2)) as item_total
    from order_items
    inner join orders
        on order_items.order_id = orders.order_id
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
    shipping_limit_at,
    price,
    freight_value,
    item_total
from final
