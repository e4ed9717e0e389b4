with

states as (
    select * from {{ ref('br_states') }}
),

known as (
    select
        cast(state_code as varchar) as state_code,
        cast(state_name as varchar) as state_name,
        cast(region as varchar) as region
    from states
),

unknown_member as (
    select
        cast('??' as varchar) as state_code,
        cast('unknown' as varchar) as state_name,
        cast('unknown' as varchar) as region
),

final as (
    select * from known
    union all
    select * from unknown_member
)

select
    state_code,
    state_name,
    region
from final
