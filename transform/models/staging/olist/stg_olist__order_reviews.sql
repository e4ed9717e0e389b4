with

source as (
    select * from {{ source('olist', 'order_reviews') }}
),

renamed as (
    select
        trim(review_id) as review_id,
        trim(order_id) as order_id,
        cast(review_score as integer) as review_score,
        {{ blank_as_null('review_comment_title') }} as review_comment_title,
        {{ blank_as_null('review_comment_message') }} as review_comment_message,
        cast(review_creation_date as timestamp) as review_created_at,
        cast(review_answer_timestamp as timestamp) as review_answered_at,
        {{ epoch_text_to_timestamp('_bronze_load_id') }} as loaded_at
    from source
),

-- A review id can repeat across orders; the same (review_id, order_id) twice is a duplicate:
-- keep the latest answer, then the latest load, then by content (never by row order).
deduplicated as (
    select
        *,
        row_number() over (
            partition by review_id, order_id
            order by
                review_answered_at desc nulls last,
                loaded_at desc,
                review_score desc nulls last,
                review_created_at desc nulls last,
                md5(coalesce(review_comment_message, '')) desc,
                md5(coalesce(review_comment_title, '')) desc
        ) as row_in_review
    from renamed
),

final as (
    select
        review_id,
        order_id,
        review_score,
        review_comment_title,
        review_comment_message,
        review_created_at,
        review_answered_at,
        loaded_at
    from deduplicated
    where row_in_review = 1
)

select * from final
