with

source as (
    select * from {{ source('olist', 'products') }}
),

renamed as (
    select
        trim(product_id) as product_id,
        {{ blank_as_null('product_category_name') }} as product_category_name,
        cast(product_name_lenght as integer) as product_name_length,
        cast(product_description_lenght as integer) as product_description_length,
        cast(product_photos_qty as integer) as product_photos_qty,
        cast(product_weight_g as integer) as product_weight_g,
        cast(product_length_cm as integer) as product_length_cm,
        cast(product_height_cm as integer) as product_height_cm,
        cast(product_width_cm as integer) as product_width_cm,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content (free text through md5, so both engines'
        -- collations agree): the row kept never depends on row order (docs/transform.md).
        row_number() over (
            partition by product_id
            order by
                loaded_at desc,
                md5(coalesce(product_category_name, '')) desc,
                product_weight_g desc nulls last,
                product_length_cm desc nulls last,
                product_height_cm desc nulls last,
                product_width_cm desc nulls last,
                product_photos_qty desc nulls last,
                product_name_length desc nulls last,
                product_description_length desc nulls last
        ) as row_in_product
    from renamed
),

final as (
    select
        product_id,
        product_category_name,
        product_name_length,
        product_description_length,
        product_photos_qty,
        product_weight_g,
        product_length_cm,
        product_height_cm,
        product_width_cm,
        loaded_at
    from deduplicated
    where row_in_product = 1
)

select * from final
