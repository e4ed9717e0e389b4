-- order items: no personal data; the policy still runs so a column tagged later is treated.
with

order_items as (
    select * from {{ ref('stg_olist__order_items') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__order_items') }}
    from order_items
)

select * from masked
