with

products as (
    select * from {{ ref('products') }}
),

categories as (
    select * from {{ ref('product_categories') }}
),

known as (
    select
        cast(products.product_id as varchar) as product_key,
        cast(coalesce(products.product_category_name, 'unknown') as varchar) as category_name_pt,
        cast(coalesce(
            categories.product_category_name_english,
            products.product_category_name,
            'unknown'
        ) as varchar) as category_name_en,
        cast(products.product_photos_qty as integer) as photos_qty,
        cast(products.product_weight_g as integer) as weight_g,
        cast(products.product_length_cm as integer) as length_cm,
        cast(products.product_height_cm as integer) as height_cm,
        cast(products.product_width_cm as integer) as width_cm
    from products
    left join categories
        on products.product_category_name = categories.product_category_name
),

-- Items whose product is missing from the catalogue point here instead of disappearing.
unknown_member as (
    {{ unknown_member() }}
),

final as (
    select * from known
    union all
    select * from unknown_member
)

select
    product_key,
    category_name_pt,
    category_name_en,
    photos_qty,
    weight_g,
    length_cm,
    height_cm,
    width_cm
from final
