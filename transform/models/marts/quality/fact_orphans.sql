-- Late-arriving dimensions, counted: per fact and dimension, how many fact rows point to the
-- dimension's unknown member because the row they reference was not in the delivery. One row per
-- (fact, dimension) pair, zero counts included, so the run summary and the operations page always
-- have a number to show. The facts keep these rows (revenue still reconciles); a later run whose
-- delivery brings the missing rows rebuilds the marts and attaches them.
with

orders as (
    select * from {{ ref('fct_orders') }}
),

order_items as (
    select * from {{ ref('fct_order_items') }}
),

payments as (
    select * from {{ ref('fct_payments') }}
),

reviews as (
    select * from {{ ref('fct_reviews') }}
),

counted as (
    {%- set pairs = [
        ('fct_orders', 'dim_customer', 'customer_key', 'orders', 'items_total'),
        ('fct_order_items', 'dim_customer', 'customer_key', 'order_items', 'item_total'),
        ('fct_order_items', 'dim_product', 'product_key', 'order_items', 'item_total'),
        ('fct_order_items', 'dim_seller', 'seller_key', 'order_items', 'item_total'),
        ('fct_payments', 'dim_customer', 'customer_key', 'payments', 'payment_value'),
        ('fct_reviews', 'dim_customer', 'customer_key', 'reviews', none),
    ] %}
    {%- for fact, dimension, key, cte, amount in pairs %}
    select
        '{{ fact }}' as fact_table,
        '{{ dimension }}' as dimension,
        '{{ key }}' as key_column,
        count(*) as fact_rows,
        sum(case when {{ key }} = 'unknown' then 1 else 0 end) as orphan_rows,
        {%- if amount %}
        coalesce(sum(case when {{ key }} = 'unknown' then {{ amount }} else 0 end), 0) as orphan_amount_brl
        {%- else %}
        cast(null as numeric(14, 2)) as orphan_amount_brl
        {%- endif %}
    from {{ cte }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
)

select
    cast(fact_table as varchar) as fact_table,
    cast(dimension as varchar) as dimension,
    cast(key_column as varchar) as key_column,
    cast(fact_rows as bigint) as fact_rows,
    cast(coalesce(orphan_rows, 0) as bigint) as orphan_rows,
    cast(orphan_amount_brl as numeric(14, 2)) as orphan_amount_brl
from counted
