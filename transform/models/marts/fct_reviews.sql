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

final as (
    select
        cast(reviews.review_id || '-' || reviews.order_id as varchar) as review_key,
        cast(reviews.review_id as varchar) as review_id,
        cast(reviews.order_id as varchar) as order_id,
        -- A customer missing from the delivery is the dimension's unknown member (late-arriving).
        cast(coalesce(customers.customer_token, 'unknown') as varchar) as customer_key,
        cast(reviews.review_score as integer) as review_score,
        cast(reviews.review_created_at as date) as review_created_date,
        cast(reviews.review_answered_at as timestamp) as review_answered_at,
        reviews.review_comment_message is not null as has_comment,
        cast(length(reviews.review_comment_message) as integer) as comment_length
    from reviews
    inner join orders
        on reviews.order_id = orders.order_id
    left join customers
        on orders.customer_token = customers.customer_token
)

select
    review_key,
    review_id,
    order_id,
    customer_key,
    review_score,
    review_created_date,
    review_answered_at,
    has_comment,
    comment_length
from final
