-- One row per order id: the row ranked first by stg_olist__order_versions' documented rule.
with

versions as (
    select * from {{ ref('stg_olist__order_versions') }}
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
from versions
where version_rank = 1
