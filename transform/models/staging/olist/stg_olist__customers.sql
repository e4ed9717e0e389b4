with

source as (
    select * from {{ source('olist', 'customers') }}
),

renamed as (
    select
        trim(customer_id) as customer_id,
        trim(customer_unique_id) as customer_unique_id,
        trim(customer_zip_code_prefix) as customer_zip_code_prefix,
        {{ normalize_city('customer_city') }} as customer_city,
        upper(trim(customer_state)) as customer_state,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content (free text through md5, so both engines'
        -- collations agree): the row kept never depends on row order (docs/transform.md).
        row_number() over (
            partition by customer_id
            order by
                loaded_at desc,
                customer_unique_id desc,
                customer_zip_code_prefix desc nulls last,
                md5(coalesce(customer_city, '')) desc,
                customer_state desc nulls last
        ) as row_in_customer
    from renamed
),

final as (
    select
        customer_id,
        customer_unique_id,
        customer_zip_code_prefix,
        customer_city,
        customer_state,
        loaded_at
    from deduplicated
    where row_in_customer = 1
)

select * from final
