-- The Spark gold aggregates reconcile with the masked silver they were computed from, to the cent:
-- revenue, freight and items of sales_daily, revenue of seller_scorecard, orders and monetary value of
-- customer_rfm. Returns one row per total that differs (and fails, so nothing is published).
-- customer_rfm leaves out the statuses spark_jobs/customer_cohorts.py excludes by default.
-- Before the first gold load (a `dbt build` after `cofre ingest` only) there is no gold to reconcile, as
-- the gold models only log then (materialization spark_gold): the test has nothing to compare and passes.
{{ config(severity='error', tags=['reconciliation', 'gold']) }}

{%- set missing = [] -%}
{%- if execute -%}
    {%- for table in ['sales_daily', 'seller_scorecard', 'customer_rfm'] -%}
        {%- set gold = ref(table) -%}
        {%- if adapter.get_relation(database=gold.database, schema=gold.schema, identifier=gold.identifier) is none -%}
            {%- do missing.append(table) -%}
        {%- endif -%}
    {%- endfor -%}
{%- endif %}

{% if missing %}
select
    cast(null as varchar) as total,
    cast(null as numeric(18, 2)) as gold_total,
    cast(null as numeric(18, 2)) as silver_total
where 1 = 0
{% else %}

with

order_items as (
    select * from {{ ref('order_items') }}
),

orders as (
    select * from {{ ref('orders') }}
),

customers as (
    select * from {{ ref('customers') }}
),

sales_daily as (
    select * from {{ ref('sales_daily') }}
),

seller_scorecard as (
    select * from {{ ref('seller_scorecard') }}
),

customer_rfm as (
    select * from {{ ref('customer_rfm') }}
),

sold_items as (
    select
        order_items.price,
        order_items.freight_value
    from order_items
    inner join orders on orders.order_id = order_items.order_id
),

rfm_orders as (
    select orders.order_id
    from orders
    inner join customers on customers.customer_token = orders.customer_token
    where orders.order_status not in ('canceled', 'unavailable')
        and orders.purchased_at is not null
),

rfm_items as (
    select order_items.price + order_items.freight_value as item_total
    from order_items
    inner join rfm_orders on rfm_orders.order_id = order_items.order_id
),

totals as (
    select
        'sales_daily.revenue' as total,
        (select sum(revenue) from sales_daily) as gold_total,
        (select sum(price) from sold_items) as silver_total
    union all
    select
        'sales_daily.freight',
        (select sum(freight) from sales_daily),
        (select sum(freight_value) from sold_items)
    union all
    select
        'sales_daily.items',
        (select sum(items) from sales_daily),
        (select count(*) from sold_items)
    union all
    select
        'seller_scorecard.revenue',
        (select sum(revenue) from seller_scorecard),
        (select sum(price) from sold_items)
    union all
    select
        'customer_rfm.orders',
        (select sum(frequency) from customer_rfm),
        (select count(*) from rfm_orders)
    union all
    select
        'customer_rfm.monetary',
        (select sum(monetary) from customer_rfm),
        (select coalesce(sum(item_total), 0) from rfm_items)
)

select
    total,
    gold_total,
    silver_total
from totals
where round(cast(coalesce(gold_total, 0) as numeric(18, 4)), 2)
    <> round(cast(coalesce(silver_total, 0) as numeric(18, 4)), 2)
{% endif %}
