-- Conflicting duplicates: every row of every order id that the delivery holds more than once with
-- different content, ranked by stg_olist__order_versions' rule (version_rank 1 is the row kept). Exact
-- repeats of one row are not conflicts and are not listed. The customer id is PII and is never shown
-- here: `differing_columns` says whether it differed.
with

versions as (
    select * from {{ ref('stg_olist__order_versions') }}
),

{%- set compared = [
    'customer_id', 'order_status', 'purchased_at', 'approved_at', 'delivered_to_carrier_at',
    'delivered_to_customer_at', 'estimated_delivery_at',
] %}

compared as (
    select
        order_id,
        {%- for column in compared %}
        count(distinct coalesce(cast({{ column }} as varchar), '(null)')) > 1 as {{ column }}_differs{{ ',' if not loop.last }}
        {%- endfor %}
    from versions
    where versions > 1
    group by order_id
),

conflicting as (
    select
        order_id,
        concat_ws(
            ',',
            {%- for column in compared %}
            case when {{ column }}_differs then '{{ column }}' end{{ ',' if not loop.last }}
            {%- endfor %}
        ) as differing_columns
    from compared
    where
        {%- for column in compared %}
        {{ column }}_differs{{ ' or' if not loop.last }}
        {%- endfor %}
)

select
    versions.order_id,
    versions.version_rank,
    versions.version_rank = 1 as is_kept,
    versions.versions,
    conflicting.differing_columns,
    versions.bronze_load_id,
    versions.loaded_at,
    versions.order_status,
    versions.purchased_at,
    versions.approved_at,
    versions.delivered_to_carrier_at,
    versions.delivered_to_customer_at,
    versions.estimated_delivery_at
from versions
inner join conflicting
    on versions.order_id = conflicting.order_id
