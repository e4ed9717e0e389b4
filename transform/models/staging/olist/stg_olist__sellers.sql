with

source as (
    select * from {{ source('olist', 'sellers') }}
),

renamed as (
    select
        trim(seller_id) as seller_id,
        trim(seller_zip_code_prefix) as seller_zip_code_prefix,
        {{ normalize_city('seller_city') }} as seller_city,
        upper(trim(seller_state)) as seller_state,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content (free text through md5, so both engines'
        -- collations agree): the row kept never depends on row order (docs/transform.md).
        row_number() over (
            partition by seller_id
            order by
                loaded_at desc,
                seller_zip_code_prefix desc nulls last,
                md5(coalesce(seller_city, '')) desc,
                seller_state desc nulls last
        ) as row_in_seller
    from renamed
),

final as (
    select
        seller_id,
        seller_zip_code_prefix,
        seller_city,
        seller_state,
        loaded_at
    from deduplicated
    where row_in_seller = 1
)

select * from final
