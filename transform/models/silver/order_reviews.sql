-- Reviews with the free text redacted (e-mails, CPF-like numbers, phone numbers) by policy.
with

reviews as (
    select * from {{ ref('stg_olist__order_reviews') }}
),

masked as (
    select
    {{ masked_columns('stg_olist__order_reviews') }}
    from reviews
)

select * from masked
