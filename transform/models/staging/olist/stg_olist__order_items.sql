with

source as (
    select * from {{ source('olist', 'order_items') }}
),

renamed as (
    select
        trim(order_id) as order_id,
        cast(order_item_id as integer) as order_item_id,
        trim(product_id) as product_id,
        trim(seller_id) as seller_id,
        cast(shipping_limit_date as timestamp) as shipping_limit_at,
        cast(price as numeric(12, 2)) as price,
        cast(freight_value as numeric(12, 2)) as freight_value,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content, so the row kept never depends on row order
        -- (docs/transform.md, conflicting duplicates).
        row_number() over (
            partition by order_id, order_item_id
            order by
                loaded_at desc,
                shipping_limit_at desc nulls last,
                price desc nulls last,
                freight_value desc nulls last,
                product_id desc,
                seller_id desc
        ) as row_in_item
    from renamed
),

final as (
    select
        order_id,
        order_item_id,
        product_id,
        seller_id,
        shipping_limit_at,
        price,
        freight_value,
        loaded_at
    from deduplicated
    where row_in_item = 1
)

select * from final
