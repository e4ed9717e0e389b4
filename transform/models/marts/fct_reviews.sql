-- Grain: one review of one order (review_id, order_id). Comment text is already redacted in silver.
with

reviews as (
    select * from {{ ref('order_reviews') }}
),

orders as (
    select * from {{ ref('orders') }}
),

final as (
    select
        cast(reviews.review_id || '-' || reviews.order_id as varchar) as review_key,
        cast(reviews.review_id as varchar) as review_id,
        cast(reviews.order_id as varchar) as order_id,
        cast(coalesce(orders.customer_token, 'unknown') as varchar) as customer_key,
        cast(reviews.review_score as integer) as review_score,
        cast(reviews.review_created_at as date) as review_created_date,
        cast(reviews.review_answered_at as timestamp) as review_answered_at,
        reviews.review_comment_message is not null as has_comment,
        cast(reviews.review_comment_title as varchar) as review_comment_title,
        cast(reviews.review_comment_message as varchar) as review_comment_message
    from reviews
    inner join orders
        on reviews.order_id = orders.order_id
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
    review_comment_title,
    review_comment_message
from final
