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
    {{ unknown_member(overrides={'state_code': "'??'"}) }}
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
