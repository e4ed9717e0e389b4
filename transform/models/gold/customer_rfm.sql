-- Gold table written by the Spark job spark_customer_cohorts (spark_jobs/customer_cohorts.py) and loaded into the warehouse by
-- cofre's `load_gold` step; dbt only checks that it is there (materialization spark_gold).
{{ config(materialized='spark_gold', schema='gold') }}
-- depends_on: {{ ref('spark_customer_cohorts') }}
