-- products: no personal data; the policy still runs so a column tagged later is treated.
with

products as (
    select * from {{ ref('stg_olist__products') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__products') }}
    from products
)

select * from masked
