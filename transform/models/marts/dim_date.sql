with

holidays as (
    select * from {{ ref('br_national_holidays') }}
),

spine as (
    select cast(day_ts as date) as date_day
    from generate_series(
        cast('{{ var("date_spine_start") }}' as timestamp),
        cast('{{ var("date_spine_end") }}' as timestamp),
        interval '1 day'
    ) as days (day_ts)
),

calendar as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast(extract(week from date_day) as integer) as iso_week,
        cast(extract(isodow from date_day) as integer) as iso_day_of_week
    from spine
),

final as (
    select
        calendar.date_day as date_key,
        calendar.year_number,
        calendar.quarter_number,
        calendar.month_number,
        cast(case calendar.month_number
            when 1 then 'janeiro'
            when 2 then 'fevereiro'
            when 3 then 'março'
            when 4 then 'abril'
            when 5 then 'maio'
            when 6 then 'junho'
            when 7 then 'julho'
            when 8 then 'agosto'
            when 9 then 'setembro'
            when 10 then 'outubro'
            when 11 then 'novembro'
            when 12 then 'dezembro'
        end as varchar) as month_name_pt,
        cast(
            {{ dbt.date_trunc('month', 'calendar.date_day') }} as date
        ) as month_start,
        calendar.day_of_month,
        calendar.iso_week,
        calendar.iso_day_of_week,
        calendar.iso_day_of_week in (6, 7) as is_weekend,
        holidays.holiday_date is not null as is_holiday,
        cast(holidays.holiday_name as varchar) as holiday_name
    from calendar
    left join holidays
        on calendar.date_day = holidays.holiday_date
)

select
    date_key,
    year_number,
    quarter_number,
    month_number,
    month_name_pt,
    month_start,
    day_of_month,
    iso_week,
    iso_day_of_week,
    is_weekend,
    is_holiday,
    holiday_name
from final
