-- Every row of the orders file, renamed and typed, ranked among the rows of the same order id.
-- Which row is THE order (version_rank = 1), deterministically, whatever the rows' order in the file:
--   1. the newest bronze load;
--   2. the latest event the row records (greatest of purchase, approval, carrier and delivery times);
--   3. the furthest status (created < approved < invoiced < processing < shipped < delivered
--      < unavailable < canceled: a cancellation is the last word);
--   4. then the row's content itself (estimated delivery, customer id, each timestamp), so only rows
--      identical in every column can tie, and then either is the same order.
-- Raw tables carry no file line number, so "file order" cannot be a rule here; ranking on content makes
-- the result independent of the order in which rows were written. quality.order_conflicts records
-- every order id whose rows differ.
with

source as (
    select * from {{ source('olist', 'orders') }}
),

renamed as (
    select
        trim(order_id) as order_id,
        trim(customer_id) as customer_id,
        lower(trim(order_status)) as order_status,
        cast(order_purchase_timestamp as timestamp) as purchased_at,
        cast(order_approved_at as timestamp) as approved_at,
        cast(order_delivered_carrier_date as timestamp) as delivered_to_carrier_at,
        cast(order_delivered_customer_date as timestamp) as delivered_to_customer_at,
        cast(order_estimated_delivery_date as timestamp) as estimated_delivery_at,
        _bronze_load_id as bronze_load_id,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

ordered as (
    select
        *,
        greatest(purchased_at, approved_at, delivered_to_carrier_at, delivered_to_customer_at)
            as last_event_at,
        case order_status
            when 'created' then 1
            when 'approved' then 2
            when 'invoiced' then 3
            when 'processing' then 4
            when 'shipped' then 5
            when 'delivered' then 6
            when 'unavailable' then 7
            when 'canceled' then 8
            else 0
        end as status_step
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
    bronze_load_id,
    loaded_at,
    last_event_at,
    status_step,
    row_number() over (
        partition by order_id
        order by
            loaded_at desc,
            last_event_at desc nulls last,
            status_step desc,
            order_status desc,
            estimated_delivery_at desc nulls last,
            customer_id desc,
            delivered_to_customer_at desc nulls last,
            delivered_to_carrier_at desc nulls last,
            approved_at desc nulls last,
            purchased_at desc nulls last
    ) as version_rank,
    count(*) over (partition by order_id) as versions
from ordered
