-- One row per order id. When the delivery holds an order id more than once, the row kept is chosen by
-- the deterministic rule of macros/order_versions.sql (newest load, latest event, furthest status, then
-- content); stg_olist__order_versions ranks every row and quality.order_conflicts records conflicts.
with

source as (
    select * from {{ source('olist', 'orders') }}
),

renamed as (
    select
        {{ olist_orders_renamed_columns() }}
    from source
),

deduplicated as (
    select
        *,
        {{ order_version_rank() }} as version_rank
    from renamed
)

select
    order_id,
    customer_id,
    order_status,
    purchased_at,
    approved_at,
    delivered_to_carrier_at,
    delivered_to_customer_at,
    estimated_delivery_at,
    loaded_at
from deduplicated
where version_rank = 1
