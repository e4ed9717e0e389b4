-- order payments: no personal data; the policy still runs so a column tagged later is treated.
with

order_payments as (
    select * from {{ ref('stg_olist__order_payments') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__order_payments') }}
    from order_payments
)

select * from masked
