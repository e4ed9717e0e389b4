-- Σ price + freight in fct_order_items equals Σ in silver order_items, to the cent.
-- Returns a row (and fails) when they differ.
{{ config(severity='error', tags=['reconciliation']) }}

with

silver_items as (
    select
        count(*) as item_rows,
        coalesce(sum(price), 0) as price_total,
        coalesce(sum(freight_value), 0) as freight_total
    from {{ ref('order_items') }}
),

mart_items as (
    select
        count(*) as item_rows,
        coalesce(sum(price), 0) as price_total,
        coalesce(sum(freight_value), 0) as freight_total
    from {{ ref('fct_order_items') }}
),

mart_orders as (
    select coalesce(sum(items_total), 0) as items_total
    from {{ ref('fct_orders') }}
)

select
    silver_items.item_rows as silver_item_rows,
    mart_items.item_rows as mart_item_rows,
    silver_items.price_total + silver_items.freight_total as silver_total,
    mart_items.price_total + mart_items.freight_total as mart_items_total,
    mart_orders.items_total as mart_orders_total
from silver_items
cross join mart_items
cross join mart_orders
where silver_items.item_rows <> mart_items.item_rows
   or silver_items.price_total <> mart_items.price_total
   or silver_items.freight_total <> mart_items.freight_total
   or silver_items.price_total + silver_items.freight_total <> mart_orders.items_total
