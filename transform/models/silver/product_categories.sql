-- Product categories with their English names: no personal data; the policy still runs so a column tagged later is treated.
with

product_category_name_translation as (
    select * from {{ ref('stg_olist__product_category_name_translation') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__product_category_name_translation') }}
    from product_category_name_translation
)

select * from masked
