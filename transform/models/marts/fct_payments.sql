-- Grain: one payment (order_id, payment_sequential). Never join to items: sum per order first.
with

payments as (
    select * from {{ ref('order_payments') }}
),

orders as (
    select * from {{ ref('orders') }}
),

customers as (
    select * from {{ ref('customers') }}
),

-- Dates at the grain the privacy policy gave the order (see fct_orders).
published_orders as (
    select * from {{ ref('fct_orders') }}
),

final as (
    select
        cast(payments.order_id || '-' || cast(payments.payment_sequential as varchar) as varchar) as payment_key,
        cast(payments.order_id as varchar) as order_id,
        cast(payments.payment_sequential as integer) as payment_sequential,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(published_orders.purchase_date as date) as purchase_date,
        cast(published_orders.time_grain as varchar) as time_grain,
        cast(payments.payment_type as varchar) as payment_type,
        cast(payments.payment_installments as integer) as payment_installments,
        cast(payments.payment_value as numeric(12, 2)) as payment_value
    from payments
    inner join orders
        on payments.order_id = orders.order_id
    inner join published_orders
        on payments.order_id = published_orders.order_id
    left join customers
        on orders.customer_token = customers.customer_token
)

select
    payment_key,
    order_id,
    payment_sequential,
    customer_key,
    purchase_date,
    time_grain,
    payment_type,
    payment_installments,
    payment_value
from final
