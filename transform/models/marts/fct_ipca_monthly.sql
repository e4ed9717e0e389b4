-- Monthly IPCA with a price index and the deflator that turns a month's BRL into constant BRL of the
-- base month (var ipca_base_month): value_in_base_brl = nominal_value * deflator_to_base.
with

ipca as (
    select * from {{ ref('stg_bcb__ipca') }}
),

indexed as (
    select
        month_start,
        ipca_pct,
        -- Price level after the month's inflation, relative to before the first month loaded.
        exp(sum(ln(1 + cast(ipca_pct as double precision) / 100)) over (
            order by month_start rows between unbounded preceding and current row
        )) as price_level
    from ipca
),

base as (
    select price_level as base_price_level
    from indexed
    where month_start = cast('{{ var("ipca_base_month") }}' as date)
),

final as (
    select
        indexed.month_start,
        cast(indexed.ipca_pct as numeric(8, 4)) as ipca_pct,
        cast(indexed.price_level / base.base_price_level as numeric(18, 10)) as price_index,
        cast(base.base_price_level / indexed.price_level as numeric(18, 10)) as deflator_to_base,
        cast('{{ var("ipca_base_month") }}' as date) as base_month
    from indexed
    cross join base
)

select
    month_start,
    ipca_pct,
    price_index,
    deflator_to_base,
    base_month
from final
