with

source as (
    select * from {{ source('bcb', 'ipca') }}
),

renamed as (
    select
        cast(month as date) as month_start,
        cast(ipca_pct as numeric(8, 4)) as ipca_pct,
        cast(series_code as integer) as series_code,
        origin,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        row_number() over (partition by month_start order by loaded_at desc) as row_in_month
    from renamed
),

final as (
    select
        month_start,
        ipca_pct,
        series_code,
        origin,
        loaded_at
    from deduplicated
    where row_in_month = 1
)

select * from final
