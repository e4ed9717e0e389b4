"""Every SQL statement of the dashboard, in one place, each runnable unchanged on DuckDB and PostgreSQL.

Parameters are `:name` (see `dashboard.data.driver_sql`). The filters are `:start`/`:end` (dates,
inclusive), `:state` (a state code or null = all) and `:category` (an English category name, as gold uses,
or null = all). Revenue comes from `fct_order_items` (never from payments joined to items, which fans
out), as the dbt exposure `cofre_dashboard` documents.
"""

from __future__ import annotations

TABLES_DUCKDB = """
select case when table_catalog = 'ops' then 'ops' else table_schema end as schema_name, table_name
from information_schema.tables
where table_catalog = 'ops' or table_schema in ('marts', 'gold')
"""

TABLES_POSTGRES = """
select table_schema as schema_name, table_name
from information_schema.tables
where table_schema in ('marts', 'gold', 'ops')
"""

# ---- filter choices ------------------------------------------------------------------------------------

DATE_BOUNDS = "select min(purchase_date) as first_day, max(purchase_date) as last_day from marts.fct_orders"

STATES = """
select state_code, state_name, region
from marts.dim_geography
where state_code <> '??'
order by state_code
"""

CATEGORIES = """
select category_name_en, min(category_name_pt) as category_name_pt
from marts.dim_product
group by category_name_en
order by category_name_en
"""

# Orders placed in the period, by customer state, having at least one item of the category.
_FILTERED_ORDERS = """
filtered_orders as (
    select
        o.order_id,
        o.is_late,
        o.review_score,
        o.delivery_days,
        c.customer_unique_token,
        c.state_code
    from marts.fct_orders as o
    left join marts.dim_customer as c on c.customer_key = o.customer_key
    where o.purchase_date between :start and :end
        and (:state is null or c.state_code = :state)
        and (
            :category is null
            or exists (
                select 1
                from marts.fct_order_items as fi
                inner join marts.dim_product as fp on fp.product_key = fi.product_key
                where fi.order_id = o.order_id and fp.category_name_en = :category
            )
        )
),
filtered_items as (
    select
        i.order_id,
        i.item_total,
        p.category_name_en,
        p.category_name_pt
    from marts.fct_order_items as i
    inner join filtered_orders as fo on fo.order_id = i.order_id
    left join marts.dim_product as p on p.product_key = i.product_key
    where :category is null or p.category_name_en = :category
)
"""

# ---- overview ------------------------------------------------------------------------------------------

KPIS = f"""
with {_FILTERED_ORDERS},
items as (
    select
        sum(item_total) as gmv,
        count(distinct order_id) as orders_with_items
    from filtered_items
),
orders as (
    select
        count(*) as orders,
        count(distinct customer_unique_token) as customers,
        avg(case when is_late then 0.0 when not is_late then 1.0 end) as on_time_share,
        avg(cast(review_score as double precision)) as avg_review
    from filtered_orders
)
select
    items.gmv,
    orders.orders,
    items.gmv / nullif(items.orders_with_items, 0) as avg_ticket,
    orders.customers,
    orders.on_time_share,
    orders.avg_review
from items
cross join orders
"""

# GMV and orders by purchase month (a month with no order has no row: the page puts the gap back).
MONTHLY_GMV = f"""
with {_FILTERED_ORDERS},
items as (
    select order_id, sum(item_total) as gmv
    from filtered_items
    group by order_id
)
select
    cast(date_trunc('month', o.purchase_date) as date) as month,
    count(*) as orders,
    coalesce(sum(i.gmv), 0) as gmv
from filtered_orders as fo
inner join marts.fct_orders as o on o.order_id = fo.order_id
left join items as i on i.order_id = fo.order_id
group by cast(date_trunc('month', o.purchase_date) as date)
order by month
"""

# Orders by purchase month over the whole history, no filter: what a complete month looks like.
MONTHLY_ORDERS_ALL = """
select
    cast(date_trunc('month', purchase_date) as date) as month,
    count(*) as orders
from marts.fct_orders
group by cast(date_trunc('month', purchase_date) as date)
order by month
"""

# ---- sales: nominal vs constant BRL (gold, deflated by IPCA in Spark) ---------------------------------

SALES_MONTHLY = """
select
    sale_month as month,
    sum(gross_revenue) as nominal_brl,
    sum(gross_revenue_constant_brl) as constant_brl,
    sum(items) as items
from gold.sales_daily
where sale_date between :start and :end
    and (:state is null or customer_state = :state)
    and (:category is null or category = :category)
group by sale_month
order by sale_month
"""

IPCA_BASE_MONTH = "select max(base_month) as base_month from marts.fct_ipca_monthly"

# ---- categories ----------------------------------------------------------------------------------------

CATEGORY_SALES = f"""
with {_FILTERED_ORDERS}
select
    category_name_en,
    category_name_pt,
    sum(item_total) as revenue,
    count(*) as items,
    count(distinct order_id) as orders
from filtered_items
group by category_name_en, category_name_pt
order by revenue desc
"""

MIN_PAIR_ORDERS = 3
"""A pair of categories is shown as bought together only when it was, in at least this many orders (minimum
support), and more often than chance (lift > 1)."""

CATEGORY_COOCCURRENCE = """
select
    category_a,
    category_b,
    orders_together,
    support,
    lift
from gold.category_cooccurrence
where (:category is null or category_a = :category or category_b = :category)
    and orders_together >= :min_orders
    and lift > 1
order by lift desc, orders_together desc
limit 25
"""

# ---- geography -----------------------------------------------------------------------------------------

STATE_SALES = f"""
with {_FILTERED_ORDERS},
revenue as (
    select order_id, sum(item_total) as revenue
    from filtered_items
    group by order_id
)
select
    g.state_code,
    g.state_name,
    g.region,
    count(fo.order_id) as orders,
    coalesce(sum(r.revenue), 0) as revenue,
    count(distinct fo.customer_unique_token) as customers,
    avg(cast(fo.delivery_days as double precision)) as delivery_days,
    avg(case when fo.is_late then 1.0 when not fo.is_late then 0.0 end) as late_share
from marts.dim_geography as g
left join filtered_orders as fo on fo.state_code = g.state_code
left join revenue as r on r.order_id = fo.order_id
where g.state_code <> '??'
group by g.state_code, g.state_name, g.region
order by revenue desc
"""

# ---- delivery by route (gold) --------------------------------------------------------------------------

DELIVERY_ROUTES = """
select
    seller_state,
    customer_state,
    shipments,
    median_days,
    p90_days,
    late_share,
    avg_days as mean_days
from gold.delivery_routes
where :state is null or seller_state = :state or customer_state = :state
order by shipments desc
"""

# ---- seller scorecards (gold, by month) ----------------------------------------------------------------

SELLER_SCORECARD = """
select
    seller_id,
    seller_state,
    sum(revenue) as revenue,
    sum(orders) as orders,
    sum(items) as items,
    sum(on_time_rate * orders) / nullif(sum(case when on_time_rate is not null then orders end), 0)
        as on_time_rate,
    sum(avg_review * orders) / nullif(sum(case when avg_review is not null then orders end), 0)
        as avg_review,
    sum(cancellation_rate * orders) / nullif(sum(orders), 0) as cancellation_rate,
    min(rank_in_state) as best_rank,
    count(*) as months
from gold.seller_scorecard
where month between :start_month and :end_month
    and (:state is null or seller_state = :state)
group by seller_id, seller_state
order by revenue desc
limit 200
"""

# ---- customers: cohorts and RFM segments (gold; aggregates only, no token shown) -----------------------

COHORTS = """
select
    cohort_month,
    months_since_first,
    cohort_size,
    retention_rate
from gold.customer_cohorts
where cohort_month between :start_month and :end_month
order by cohort_month, months_since_first
"""

RFM_SEGMENTS = """
select
    segment,
    count(*) as customers,
    avg(cast(recency_days as double precision)) as recency_days,
    avg(cast(frequency as double precision)) as frequency,
    avg(monetary) as monetary
from gold.customer_rfm
group by segment
order by customers desc
"""

# ---- weather ---------------------------------------------------------------------------------------

WEATHER_TABLE = "fct_weather_current"

WEATHER_CURRENT = """
select
    state_code,
    city,
    observed_at,
    temp_c,
    feels_like_c,
    humidity_pct,
    weather_main,
    weather_description,
    origin
from marts.fct_weather_current
where :state is null or state_code = :state
order by state_code
"""

# ---- operations ----------------------------------------------------------------------------------------

RUNS = """
select
    run_id,
    max(started_at) as started_at,
    max(finished_at) as finished_at,
    max(run_status) as run_status,
    sum(seconds) as seconds,
    count(*) as steps,
    max(case when step_status = 'failed' then step end) as failed_step
from ops.pipeline_runs
group by run_id
order by max(started_at) desc
limit 30
"""

RUN_STEPS = """
select
    "position",
    step,
    step_status,
    seconds,
    "rows",
    error
from ops.pipeline_runs
where run_id = :run_id
order by "position"
"""

LAST_SUCCESS = """
select max(finished_at) as finished_at
from ops.pipeline_runs
where run_status = 'succeeded'
"""

PRIVACY_CHECKS = """
select
    table_name,
    quasi_identifiers,
    k,
    k_required,
    records_below_k,
    share_below_k,
    passed
from ops.privacy_checks
where run_id = (select run_id from ops.privacy_checks order by checked_at desc limit 1)
order by table_name
"""

GATE_RESULTS = """
select
    seq,
    "time" as event_time,
    target,
    outcome,
    cast(details as varchar) as details
from ops.audit_events
where action = 'gate.result'
order by seq desc
limit 50
"""

AUDIT_CHECKS = """
select
    run_id,
    checked_at,
    ok,
    events,
    reason
from ops.audit_checks
order by checked_at desc
limit 20
"""

NEWEST_ORDER = "select max(purchase_date) as newest_order from marts.fct_orders"
