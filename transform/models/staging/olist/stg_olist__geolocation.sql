with

source as (
    select * from {{ source('olist', 'geolocation') }}
),

renamed as (
    select
        trim(geolocation_zip_code_prefix) as zip_code_prefix,
        cast(geolocation_lat as double precision) as latitude,
        cast(geolocation_lng as double precision) as longitude,
        {{ normalize_city('geolocation_city') }} as city,
        upper(trim(geolocation_state)) as state,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

-- The file repeats rows, and spells cities in several ways ("sao paulo", "são paulo"): after
-- normalising the city, identical rows are one.
deduplicated as (
    select
        zip_code_prefix,
        latitude,
        longitude,
        city,
        state,
        max(loaded_at) as loaded_at
    from renamed
    group by
        zip_code_prefix,
        latitude,
        longitude,
        city,
        state
)

select * from deduplicated
