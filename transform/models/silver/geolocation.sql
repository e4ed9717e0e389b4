-- Locations at the resolution silver allows: 3-digit zip prefix, coordinates rounded to 2 decimals
-- (about 1 km), one row per distinct result.
with

geolocation as (
    select * from {{ ref('stg_olist__geolocation') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__geolocation', exclude=['loaded_at']) }}
    from geolocation
)

select distinct * from masked
