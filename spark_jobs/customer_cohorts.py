"""Gold: customer cohorts with retention, and RFM segments, by customer token (never an id).

A customer is a person: `customer_unique_token` (Olist gives every order its own customer id). Orders
count when their status is not in `exclude_statuses` (default: canceled, unavailable).

`customer_cohorts`: one row per (cohort_month, months_since_first). The cohort of a customer is the month
of their first order; `customers` is how many of the cohort ordered in the month `months_since_first`
later, `retention_rate` that number over `cohort_size`.

`customer_rfm`: one row per customer token, as of `as_of` (default: the day after the last order):
`recency_days` since the last order, `frequency` (orders), `monetary` (items price + freight, BRL) and
scores 1-5: r_score and m_score are quintiles (ntile(5), ties broken by the token, so the result is
deterministic), f_score is min(frequency, 5). `segment` from the scores:
champions (r>=4, f>=2), loyal (f>=2), new (r>=4, f=1), at_risk (r<=2, m>=4), hibernating (r<=2), promising.
Both are small: not partitioned.

    spark-submit spark_jobs/customer_cohorts.py --silver URI --gold URI [--as-of 2018-10-01]
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_jobs._common import main, money, month_start, read_silver, write_gold

COHORTS, RFM = "customer_cohorts", "customer_rfm"
DEFAULT_EXCLUDED = "canceled,unavailable"


def customer_orders(
    spark: SparkSession, silver_uri: str, exclude_statuses: str = DEFAULT_EXCLUDED
) -> DataFrame:
    """One row per counted order: (customer_unique_token, order_id, purchased_at, order_value)."""
    excluded = [s.strip() for s in exclude_statuses.split(",") if s.strip()]
    orders = read_silver(spark, silver_uri, "orders").select(
        "order_id", "customer_token", "order_status", "purchased_at"
    )
    if excluded:
        orders = orders.where(~F.col("order_status").isin(excluded))
    customers = read_silver(spark, silver_uri, "customers").select("customer_token", "customer_unique_token")
    items = (
        read_silver(spark, silver_uri, "order_items")
        .groupBy("order_id")
        .agg(F.sum(F.col("price") + F.col("freight_value")).alias("order_value"))
    )
    return (
        orders.where(F.col("purchased_at").isNotNull())
        .join(customers, "customer_token", "inner")
        .join(items, "order_id", "left")
        .select(
            "customer_unique_token",
            "order_id",
            "purchased_at",
            F.coalesce("order_value", F.lit(0).cast("decimal(18,2)")).alias("order_value"),
        )
    )


def cohorts(orders: DataFrame) -> DataFrame:
    first = (
        orders.groupBy("customer_unique_token")
        .agg(F.min("purchased_at").alias("first_at"))
        .select("customer_unique_token", F.trunc("first_at", "month").alias("cohort_start"))
    )
    activity = (
        orders.select("customer_unique_token", month_start("purchased_at").alias("active_month"))
        .distinct()
        .join(first, "customer_unique_token")
        .withColumn(
            "months_since_first",
            F.months_between("active_month", "cohort_start").cast("int"),
        )
    )
    sizes = first.groupBy("cohort_start").agg(F.count(F.lit(1)).alias("cohort_size"))
    return (
        activity.groupBy("cohort_start", "months_since_first")
        .agg(F.count(F.lit(1)).alias("customers"))
        .join(sizes, "cohort_start")
        .select(
            F.date_format("cohort_start", "yyyy-MM").alias("cohort_month"),
            "months_since_first",
            F.col("cohort_size").cast("long").alias("cohort_size"),
            F.col("customers").cast("long").alias("customers"),
            F.round(F.col("customers") / F.col("cohort_size"), 4).alias("retention_rate"),
        )
    )


def rfm(orders: DataFrame, as_of: str | None = None) -> DataFrame:
    per_customer = orders.groupBy("customer_unique_token").agg(
        F.max(F.to_date("purchased_at")).alias("last_order_date"),
        F.countDistinct("order_id").alias("frequency"),
        money(F.sum("order_value")).alias("monetary"),
    )
    reference = (
        F.to_date(F.lit(as_of))
        if as_of
        else F.date_add(F.max("last_order_date").over(Window.partitionBy(F.lit(1))), 1)
    )
    scored = (
        per_customer.withColumn("as_of", reference)
        .withColumn("recency_days", F.datediff("as_of", "last_order_date"))
        .withColumn(
            "r_score",
            F.ntile(5).over(Window.orderBy(F.col("recency_days").desc(), "customer_unique_token")),
        )
        .withColumn("m_score", F.ntile(5).over(Window.orderBy("monetary", "customer_unique_token")))
        .withColumn("f_score", F.least(F.col("frequency"), F.lit(5)).cast("int"))
    )
    r, f, m = F.col("r_score"), F.col("f_score"), F.col("m_score")
    segment = (
        F.when((r >= 4) & (f >= 2), "champions")
        .when(f >= 2, "loyal")
        .when(r >= 4, "new")
        .when((r <= 2) & (m >= 4), "at_risk")
        .when(r <= 2, "hibernating")
        .otherwise("promising")
    )
    return scored.select(
        "customer_unique_token",
        "as_of",
        "last_order_date",
        F.col("recency_days").cast("int").alias("recency_days"),
        F.col("frequency").cast("long").alias("frequency"),
        "monetary",
        F.col("r_score").cast("int").alias("r_score"),
        "f_score",
        F.col("m_score").cast("int").alias("m_score"),
        segment.alias("segment"),
    )


def run(
    spark: SparkSession,
    silver_uri: str,
    gold_uri: str,
    as_of: str | None = None,
    exclude_statuses: str = DEFAULT_EXCLUDED,
) -> dict[str, str]:
    orders = customer_orders(spark, silver_uri, exclude_statuses).cache()
    try:
        return {
            COHORTS: write_gold(
                cohorts(orders), gold_uri, COHORTS, order_by=("cohort_month", "months_since_first")
            ),
            RFM: write_gold(rfm(orders, as_of), gold_uri, RFM, order_by=("customer_unique_token",)),
        }
    finally:
        orders.unpersist()


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as-of", dest="as_of", help="reference day of recency (YYYY-MM-DD)")
    parser.add_argument(
        "--exclude-statuses", dest="exclude_statuses", help=f"comma-separated (default {DEFAULT_EXCLUDED})"
    )


if __name__ == "__main__":
    main(run, __doc__ or COHORTS, _options)
