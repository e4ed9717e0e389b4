-- Every row of the orders file, typed and ranked within its order id by the deduplication rule
-- (macros/order_versions.sql): version_rank 1 is the row stg_olist__orders keeps.
with

source as (
    select * from {{ source('olist', 'orders') }}
),

renamed as (
    select
        {{ olist_orders_renamed_columns() }}
    from source
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
    bronze_load_id,
    loaded_at,
    {{ order_last_event_at() }} as last_event_at,
    {{ order_status_step() }} as status_step,
    {{ order_version_rank() }} as version_rank,
    count(*) over (partition by order_id) as versions
from renamed
