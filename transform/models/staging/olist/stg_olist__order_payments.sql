with

source as (
    select * from {{ source('olist', 'order_payments') }}
),

renamed as (
    select
        trim(order_id) as order_id,
        cast(payment_sequential as integer) as payment_sequential,
        lower(trim(payment_type)) as payment_type,
        cast(payment_installments as integer) as payment_installments,
        cast(payment_value as numeric(12, 2)) as payment_value,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        -- Ties inside one load are broken on the row's content (free text through md5, so both engines'
        -- collations agree): the row kept never depends on row order (docs/transform.md).
        row_number() over (
            partition by order_id, payment_sequential
            order by
                loaded_at desc,
                payment_value desc nulls last,
                md5(coalesce(payment_type, '')) desc,
                payment_installments desc nulls last
        ) as row_in_payment
    from renamed
),

final as (
    select
        order_id,
        payment_sequential,
        payment_type,
        payment_installments,
        payment_value,
        loaded_at
    from deduplicated
    where row_in_payment = 1
)

select * from final
