-- Sellers with the zip prefix generalised to 3 digits.
with

sellers as (
    select * from {{ ref('stg_olist__sellers') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__sellers') }}
    from sellers
)

select * from masked
