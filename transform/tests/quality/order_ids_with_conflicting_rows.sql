-- Warns with one row per order id whose rows in the delivery conflict, naming the id, how many rows
-- it had and which columns differed; the failing rows are stored (quality.order_ids_with_conflicting_rows)
-- so the run summary and the operations page can show them. Details per row: quality.order_conflicts.
{{ config(severity='warn', store_failures=true, schema='quality', tags=['quality']) }}

select
    order_id,
    versions,
    differing_columns
from {{ ref('order_conflicts') }}
where is_kept
