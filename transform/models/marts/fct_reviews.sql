-- Grain: one review of one order (review_id, order_id). Free text is never published: only whether
-- there is a comment and its length (the redacted text stays in silver for internal analysis).
with

reviews as (
    select * from {{ ref('order_reviews') }}
),

orders as (
    select * from {{ ref('orders') }}
),

customers as (
    select * from {{ ref('customers') }}
),

-- Privacy policy (meta.privacy in _marts__models.yml): the review's dates are published at the finest
-- grain at which its (customer state, zip3, review date) group holds at least k people (as fct_orders).
customer_places as (
    select * from {{ ref('dim_customer') }}
),

review_places as (
    select
        reviews.review_id || '-' || reviews.order_id as review_key,
        customer_places.customer_unique_token,
        customer_places.state_code,
        customer_places.customer_zip3,
        reviews.review_created_at
    from reviews
    inner join orders
        on reviews.order_id = orders.order_id
    left join customer_places
        on coalesce(orders.customer_token, 'unknown') = customer_places.customer_key
),

{{ generalize_time(
    'review_places',
    'review_key',
    partition_by=['state_code', 'customer_zip3'],
    entity='customer_unique_token',
    time_column='review_created_at'
) }},

final as (
    select
        cast(reviews.review_id || '-' || reviews.order_id as varchar) as review_key,
        cast(reviews.review_id as varchar) as review_id,
        cast(reviews.order_id as varchar) as order_id,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(reviews.review_score as integer) as review_score,
        cast(published_time.time_grain as varchar) as time_grain,
        cast(published_time.published_date as date) as review_created_date,
        {{ truncate_to_grain('reviews.review_answered_at', 'published_time.time_grain') }} as review_answered_at,
        reviews.review_comment_message is not null as has_comment,
        cast(length(reviews.review_comment_message) as integer) as comment_length
    from reviews
    inner join orders
        on reviews.order_id = orders.order_id
    inner join _time_final as published_time
        on reviews.review_id || '-' || reviews.order_id = published_time.review_key
    left join customers
        on orders.customer_token = customers.customer_token
)

select
    review_key,
    review_id,
    order_id,
    customer_key,
    review_score,
    time_grain,
    review_created_date,
    review_answered_at,
    has_comment,
    comment_length
from final
