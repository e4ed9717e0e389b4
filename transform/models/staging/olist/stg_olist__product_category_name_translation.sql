with

source as (
    select * from {{ source('olist', 'product_category_name_translation') }}
),

renamed as (
    select
        trim(product_category_name) as product_category_name,
        trim(product_category_name_english) as product_category_name_english,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content (free text through md5, so both engines'
        -- collations agree): the row kept never depends on row order (docs/transform.md).
        row_number() over (
            partition by product_category_name
            order by loaded_at desc, md5(coalesce(product_category_name_english, '')) desc
        ) as row_in_category
    from renamed
),

final as (
    select
        product_category_name,
        product_category_name_english,
        loaded_at
    from deduplicated
    where row_in_category = 1
)

select * from final
