-- No fan-out: Σ payments in fct_orders equals Σ fct_payments (a join of payments to items would
-- multiply them).
{{ config(severity='error', tags=['reconciliation']) }}

with

per_order as (
    select coalesce(sum(payment_total), 0) as total from {{ ref('fct_orders') }}
),

per_payment as (
    select coalesce(sum(payment_value), 0) as total from {{ ref('fct_payments') }}
)

select
    per_order.total as orders_payment_total,
    per_payment.total as payments_total
from per_order
cross join per_payment
where per_order.total <> per_payment.total
