{#-
  The rule that picks THE row of an order id when a delivery holds several (stg_olist__orders keeps it,
  stg_olist__order_versions ranks every row with it, quality.order_conflicts records the conflicts):
    1. the newest bronze load;
    2. the latest event the row records (greatest of purchase, approval, carrier and delivery times);
    3. the furthest status (created < approved < invoiced < processing < shipped < delivered
       < unavailable < canceled: a cancellation is the last word);
    4. then the row's content itself (status, estimated delivery, customer id, each timestamp), so only
       rows identical in every column can tie, and then either is the same order.
  Raw tables carry no file line number, so "file order" cannot be a rule; ranking on content makes the
  result independent of the order in which the rows were written. Both macros read the columns of
  stg_olist__orders' `renamed` CTE.
-#}

{#- The renamed, typed columns of an Olist orders row (the staging select list). -#}
{% macro olist_orders_renamed_columns() -%}
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
{%- endmacro %}

{% macro order_last_event_at() -%}
    greatest(purchased_at, approved_at, delivered_to_carrier_at, delivered_to_customer_at)
{%- endmacro %}

{% macro order_status_step() -%}
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
    end
{%- endmacro %}

{#- 1 for the row kept, 2.. for the others. -#}
{% macro order_version_rank() -%}
    row_number() over (
        partition by order_id
        order by
            loaded_at desc,
            {{ order_last_event_at() }} desc nulls last,
            {{ order_status_step() }} desc,
            order_status desc,
            estimated_delivery_at desc nulls last,
            customer_id desc,
            delivered_to_customer_at desc nulls last,
            delivered_to_carrier_at desc nulls last,
            approved_at desc nulls last,
            purchased_at desc nulls last
    )
{%- endmacro %}
