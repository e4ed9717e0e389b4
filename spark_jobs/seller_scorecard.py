"""Gold: a scorecard per seller and purchase month, ranked within the seller's state.

Grain: one row per (month, seller_id). Over the seller's items of orders bought that month:
- `revenue` (item prices, BRL), `orders` (distinct orders), `items`;
- `on_time_rate`: of the seller's orders delivered to the customer, the share delivered on or before the
  estimated day (calendar days, as `fct_orders.is_late`); null when none was delivered;
- `avg_review`: mean score of the latest review of each of the seller's orders; null when none;
- `cancellation_rate`: share of the seller's orders with status `canceled`;
- `rank_in_state`: rank by revenue (highest first) among the sellers of the same state that month;
  ties share a rank (`rank()`). Partitioned by `month` (YYYY-MM).

    spark-submit spark_jobs/seller_scorecard.py --silver URI --gold URI
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from spark_jobs._common import UNKNOWN, day, main, money, read_silver, write_gold

TABLE = "seller_scorecard"


def latest_reviews(spark: SparkSession, silver_uri: str) -> DataFrame:
    """order_id -> review_score of its latest review (the rule of `fct_orders`)."""
    reviews = read_silver(spark, silver_uri, "order_reviews")
    latest = Window.partitionBy("order_id").orderBy(
        F.col("review_answered_at").desc_nulls_last(), F.col("review_created_at").desc(), F.col("review_id")
    )
    return (
        reviews.withColumn("review_rank", F.row_number().over(latest))
        .where("review_rank = 1")
        .select("order_id", F.col("review_score").cast("double").alias("review_score"))
    )


def seller_scorecard(spark: SparkSession, silver_uri: str) -> DataFrame:
    items = read_silver(spark, silver_uri, "order_items").select("order_id", "seller_id", "price")
    orders = read_silver(spark, silver_uri, "orders").select(
        "order_id", "order_status", "purchased_at", "delivered_to_customer_at", "estimated_delivery_at"
    )
    sellers = read_silver(spark, silver_uri, "sellers").select("seller_id", "seller_state")
    seller_orders = (
        items.join(orders, "order_id", "inner")
        .groupBy("seller_id", "order_id")
        .agg(
            F.first("order_status").alias("order_status"),
            F.first("purchased_at").alias("purchased_at"),
            F.first("delivered_to_customer_at").alias("delivered_at"),
            F.first("estimated_delivery_at").alias("estimated_at"),
            F.sum("price").alias("revenue"),
            F.count(F.lit(1)).alias("items"),
        )
        .join(latest_reviews(spark, silver_uri), "order_id", "left")
        .withColumn(
            "on_time",
            F.when(
                F.col("delivered_at").isNotNull() & F.col("estimated_at").isNotNull(),
                (day("delivered_at") <= day("estimated_at")).cast("int"),
            ),
        )
        .withColumn("month", F.date_format("purchased_at", "yyyy-MM"))
    )
    monthly = seller_orders.groupBy("month", "seller_id").agg(
        money(F.sum("revenue")).alias("revenue"),
        F.count(F.lit(1)).alias("orders"),
        F.sum("items").alias("items"),
        F.round(F.sum("on_time") / F.count("on_time"), 4).alias("on_time_rate"),
        F.round(F.avg("review_score"), 4).alias("avg_review"),
        F.round(F.avg((F.col("order_status") == "canceled").cast("int")), 4).alias("cancellation_rate"),
    )
    in_state = Window.partitionBy("month", "seller_state").orderBy(F.col("revenue").desc())
    return (
        monthly.join(sellers, "seller_id", "left")
        .withColumn("seller_state", F.coalesce("seller_state", F.lit(UNKNOWN)))
        .withColumn("rank_in_state", F.rank().over(in_state))
        .select(
            "month",
            "seller_id",
            "seller_state",
            "revenue",
            F.col("orders").cast("long").alias("orders"),
            F.col("items").cast("long").alias("items"),
            "on_time_rate",
            "avg_review",
            "cancellation_rate",
            F.col("rank_in_state").cast("int").alias("rank_in_state"),
        )
    )


def run(spark: SparkSession, silver_uri: str, gold_uri: str) -> dict[str, str]:
    uri = write_gold(
        seller_scorecard(spark, silver_uri),
        gold_uri,
        TABLE,
        order_by=("seller_state", "rank_in_state", "seller_id"),
        partition_by=("month",),
    )
    return {TABLE: uri}


if __name__ == "__main__":
    main(run, __doc__ or TABLE)
