-- The latest observation of each state capital: what the dashboard's weather page shows. OpenWeather
-- answers the current weather only, so each load adds one observation per city; this keeps the newest.
with

weather as (
    select * from {{ ref('stg_openweather__current_weather') }}
),

ranked as (
    select
        *,
        row_number() over (partition by city_id order by observed_at desc, loaded_at desc) as recency
    from weather
),

final as (
    select
        cast(city_id as integer) as city_id,
        state as state_code,
        city,
        cast(observed_at as timestamp) as observed_at,
        cast(temp_c as numeric(5, 1)) as temp_c,
        cast(feels_like_c as numeric(5, 1)) as feels_like_c,
        cast(humidity_pct as integer) as humidity_pct,
        weather_main,
        weather_description,
        origin
    from ranked
    where recency = 1
)

select
    city_id,
    state_code,
    city,
    observed_at,
    temp_c,
    feels_like_c,
    humidity_pct,
    weather_main,
    weather_description,
    origin
from final
