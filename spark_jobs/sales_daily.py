"""Gold: sales by day x product category x customer state, in nominal BRL and constant BRL (IPCA).

Grain: one row per (sale_date, category, customer_state). An item counts on its order's purchase day.
`revenue` is the item prices, `freight` the freight values, `gross_revenue` both; the `*_constant_brl`
columns are the same amounts in BRL of `base_month`, deflated with the month's IPCA price level:

    price_level(m) = prod over months <= m of (1 + ipca_pct / 100)
    deflator(m)    = price_level(base_month) / price_level(m)

which is exactly `fct_ipca_monthly.deflator_to_base` of the marts. Partitioned by `sale_month` (YYYY-MM).

    spark-submit spark_jobs/sales_daily.py --silver URI --gold URI [--base-month 2018-08-01]
"""

from __future__ import annotations

import argparse
import math
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs._common import UNKNOWN, day, main, money, month_start, read_silver, write_gold

TABLE = "sales_daily"
DEFAULT_BASE_MONTH = "2018-08-01"


def deflators(spark: SparkSession, silver_uri: str, base_month: str) -> DataFrame:
    """(month_start, deflator_to_base) from the monthly IPCA in silver.

    The series is a few hundred rows at most: it is computed on the driver, in month order, so the
    result does not depend on how Spark splits the data.
    """
    ipca = (
        read_silver(spark, silver_uri, "ipca")
        .select(F.trunc(F.col("month_start"), "month").alias("month_start"), "ipca_pct")
        .orderBy("month_start")
        .collect()
    )
    levels: dict[date, float] = {}
    log_level = 0.0
    for row in ipca:
        log_level += math.log1p(float(row["ipca_pct"]) / 100)
        levels[row["month_start"]] = math.exp(log_level)
    base = date.fromisoformat(base_month)
    if base not in levels:
        raise ValueError(f"the IPCA series in silver has no month {base_month}: choose another base month")
    # built from literals in the JVM (no Python worker: none sees the driver JVM's environment)
    rows = [
        F.struct(F.lit(month).alias("month_start"), F.lit(round(levels[base] / level, 10)).alias("d"))
        for month, level in levels.items()
    ]
    return (
        spark.range(1)
        .select(F.inline(F.array(*rows)))
        .select(
            F.col("month_start").cast("date").alias("month_start"),
            F.col("d").cast("double").alias("deflator_to_base"),
        )
    )


def category_names(spark: SparkSession, silver_uri: str) -> DataFrame:
    """product_id -> category (English name; Portuguese when untranslated; `unknown` when absent)."""
    products = read_silver(spark, silver_uri, "products").select("product_id", "product_category_name")
    names = read_silver(spark, silver_uri, "product_categories").select(
        "product_category_name", "product_category_name_english"
    )
    return products.join(names, "product_category_name", "left").select(
        "product_id",
        F.coalesce("product_category_name_english", "product_category_name", F.lit(UNKNOWN)).alias(
            "category"
        ),
    )


def sales_daily(spark: SparkSession, silver_uri: str, base_month: str = DEFAULT_BASE_MONTH) -> DataFrame:
    items = read_silver(spark, silver_uri, "order_items").select(
        "order_id", "product_id", "price", "freight_value"
    )
    orders = read_silver(spark, silver_uri, "orders").select("order_id", "customer_token", "purchased_at")
    customers = read_silver(spark, silver_uri, "customers").select("customer_token", "customer_state")
    joined = (
        items.join(orders, "order_id", "inner")
        .join(category_names(spark, silver_uri), "product_id", "left")
        .join(customers, "customer_token", "left")
        .select(
            day("purchased_at").alias("sale_date"),
            F.coalesce("category", F.lit(UNKNOWN)).alias("category"),
            F.coalesce("customer_state", F.lit(UNKNOWN)).alias("customer_state"),
            "order_id",
            "price",
            "freight_value",
        )
    )
    # per order first, then per group: counts distinct orders without Spark's Expand of countDistinct
    group = ("sale_date", "category", "customer_state")
    per_order = joined.groupBy(*group, "order_id").agg(
        F.count(F.lit(1)).alias("items"),
        F.sum("price").alias("price"),
        F.sum("freight_value").alias("freight_value"),
    )
    daily = per_order.groupBy(*group).agg(
        F.count(F.lit(1)).alias("orders"),
        F.sum("items").alias("items"),
        money(F.sum("price")).alias("revenue"),
        money(F.sum("freight_value")).alias("freight"),
    )
    deflator = deflators(spark, silver_uri, base_month)
    with_month = daily.withColumn("month_start", month_start("sale_date"))
    return with_month.join(F.broadcast(deflator), "month_start", "left").select(
        "sale_date",
        "category",
        "customer_state",
        F.col("orders").cast("long").alias("orders"),
        F.col("items").cast("long").alias("items"),
        "revenue",
        "freight",
        money(F.col("revenue") + F.col("freight")).alias("gross_revenue"),
        money(F.col("revenue") * F.col("deflator_to_base")).alias("revenue_constant_brl"),
        money((F.col("revenue") + F.col("freight")) * F.col("deflator_to_base")).alias(
            "gross_revenue_constant_brl"
        ),
        F.col("deflator_to_base").alias("deflator"),
        F.lit(base_month).cast("date").alias("base_month"),
        F.date_format("sale_date", "yyyy-MM").alias("sale_month"),
    )


def run(
    spark: SparkSession, silver_uri: str, gold_uri: str, base_month: str = DEFAULT_BASE_MONTH
) -> dict[str, str]:
    df = sales_daily(spark, silver_uri, base_month)
    uri = write_gold(
        df,
        gold_uri,
        TABLE,
        order_by=("sale_date", "category", "customer_state"),
        partition_by=("sale_month",),
    )
    return {TABLE: uri}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-month", dest="base_month", help="month of the constant BRL (YYYY-MM-01)")


if __name__ == "__main__":
    main(run, __doc__ or TABLE, _options)
