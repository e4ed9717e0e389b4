with

source as (
    select * from {{ source('openweather', 'current_weather') }}
),

renamed as (
    select
        upper(trim(state)) as state,
        trim(city) as city,
        {{ normalize_city('city') }} as city_normalized,
        cast(city_id as bigint) as city_id,
        (observed_at at time zone 'UTC') as observed_at,
        cast(temp_c as double precision) as temp_c,
        cast(feels_like_c as double precision) as feels_like_c,
        cast(temp_min_c as double precision) as temp_min_c,
        cast(temp_max_c as double precision) as temp_max_c,
        cast(pressure_hpa as integer) as pressure_hpa,
        cast(humidity_pct as integer) as humidity_pct,
        cast(wind_speed_ms as double precision) as wind_speed_ms,
        cast(wind_deg as integer) as wind_deg,
        cast(clouds_pct as integer) as clouds_pct,
        cast(visibility_m as integer) as visibility_m,
        weather_main,
        weather_description,
        cast(lat as double precision) as latitude,
        cast(lon as double precision) as longitude,
        origin,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

deduplicated as (
    select
        *,
        row_number() over (
            partition by city_id, observed_at order by loaded_at desc
        ) as row_in_observation
    from renamed
),

final as (
    select
        state,
        city,
        city_normalized,
        city_id,
        observed_at,
        temp_c,
        feels_like_c,
        temp_min_c,
        temp_max_c,
        pressure_hpa,
        humidity_pct,
        wind_speed_ms,
        wind_deg,
        clouds_pct,
        visibility_m,
        weather_main,
        weather_description,
        latitude,
        longitude,
        origin,
        loaded_at
    from deduplicated
    where row_in_observation = 1
)

select * from final
