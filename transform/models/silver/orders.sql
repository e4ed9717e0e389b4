-- Orders with the customer id replaced by its token (policy in stg_olist__orders' YAML).
with

orders as (
    select * from {{ ref('stg_olist__orders') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__orders') }}
    from orders
)

select * from masked
