-- The Spark job spark_jobs/delivery_routes.py (cofre's `gold` step), drawn in the dbt graph: dbt runs nothing here.
-- It reads the lake copy of these masked silver tables (written by `export_silver`):
{{ config(materialized='spark_job', schema='gold') }}
-- depends_on: {{ ref('customers') }}
-- depends_on: {{ ref('order_items') }}
-- depends_on: {{ ref('orders') }}
-- depends_on: {{ ref('sellers') }}
