-- Row counts raw -> staging -> silver -> marts, with every dropped row accounted for: staging drops
-- only duplicate keys (counted here from raw), silver and marts drop nothing.
{{ config(severity='error', tags=['reconciliation']) }}

with

raw_orders as (
    select count(*) as row_count, count(distinct order_id) as key_count
    from {{ source('olist', 'orders') }}
),

raw_items as (
    select count(*) as row_count
    from (select distinct order_id, order_item_id from {{ source('olist', 'order_items') }}) as keys
),

raw_reviews as (
    select count(*) as row_count
    from (select distinct review_id, order_id from {{ source('olist', 'order_reviews') }}) as keys
),

raw_payments as (
    select count(*) as row_count
    from (select distinct order_id, payment_sequential from {{ source('olist', 'order_payments') }}) as keys
),

counts as (
    select 'orders' as entity, 'raw distinct keys' as layer, key_count as row_count from raw_orders
    union all select 'orders', 'staging', count(*) from {{ ref('stg_olist__orders') }}
    union all select 'orders', 'silver', count(*) from {{ ref('orders') }}
    union all select 'orders', 'marts', count(*) from {{ ref('fct_orders') }}
    union all select 'order_items', 'raw distinct keys', row_count from raw_items
    union all select 'order_items', 'staging', count(*) from {{ ref('stg_olist__order_items') }}
    union all select 'order_items', 'silver', count(*) from {{ ref('order_items') }}
    union all select 'order_items', 'marts', count(*) from {{ ref('fct_order_items') }}
    union all select 'order_reviews', 'raw distinct keys', row_count from raw_reviews
    union all select 'order_reviews', 'staging', count(*) from {{ ref('stg_olist__order_reviews') }}
    union all select 'order_reviews', 'silver', count(*) from {{ ref('order_reviews') }}
    union all select 'order_reviews', 'marts', count(*) from {{ ref('fct_reviews') }}
    union all select 'order_payments', 'raw distinct keys', row_count from raw_payments
    union all select 'order_payments', 'staging', count(*) from {{ ref('stg_olist__order_payments') }}
    union all select 'order_payments', 'silver', count(*) from {{ ref('order_payments') }}
    union all select 'order_payments', 'marts', count(*) from {{ ref('fct_payments') }}
),

expected as (
    select entity, row_count as expected_count
    from counts
    where layer = 'raw distinct keys'
)

select
    counts.entity,
    counts.layer,
    counts.row_count,
    expected.expected_count
from counts
inner join expected
    on counts.entity = expected.entity
where counts.row_count <> expected.expected_count
