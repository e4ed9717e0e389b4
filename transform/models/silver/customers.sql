-- Customers with PII replaced by policy (see stg_olist__customers' YAML): tokens for the ids,
-- 3-digit zip prefix, city dropped.
with

customers as (
    select * from {{ ref('stg_olist__customers') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__customers') }}
    from customers
)

select * from masked
