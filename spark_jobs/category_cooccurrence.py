"""Gold: pairs of product categories bought in the same order, with support, confidence and lift.

Over the orders with at least one categorised item (N of them; `unknown` categories are left out):
for categories A < B, `orders_together` is n(A and B), `support` = n(A and B) / N,
`confidence_a_to_b` = n(A and B) / n(A), `confidence_b_to_a` = n(A and B) / n(B) and
`lift` = support / (support(A) * support(B)) = n(A and B) * N / (n(A) * n(B)).
Pairs seen in fewer than `min_orders` orders are dropped. The self-join of order baskets is the heavy part.
Not partitioned (one row per pair; at most categories^2 / 2 rows).

    spark-submit spark_jobs/category_cooccurrence.py --silver URI --gold URI [--min-orders 1]
"""

from __future__ import annotations

import argparse

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs._common import UNKNOWN, main, read_silver, write_gold
from spark_jobs.sales_daily import category_names

TABLE = "category_cooccurrence"


def category_cooccurrence(spark: SparkSession, silver_uri: str, min_orders: int = 1) -> DataFrame:
    items = read_silver(spark, silver_uri, "order_items").select("order_id", "product_id")
    baskets = (
        items.join(category_names(spark, silver_uri), "product_id", "left")
        .where(F.col("category").isNotNull() & (F.col("category") != UNKNOWN))
        .select("order_id", "category")
        .distinct()
        .cache()  # read four times: both sides of the self-join, the counts per category, N
    )
    # N stays in Spark (a one-row aggregate joined to every pair), not collected to the driver
    total = F.col("orders_total")
    totals = baskets.agg(F.countDistinct("order_id").cast("long").alias("orders_total"))
    per_category = baskets.groupBy("category").agg(F.count(F.lit(1)).alias("n"))
    a, b = baskets.alias("a"), baskets.alias("b")
    pairs = (
        a.join(b, (F.col("a.order_id") == F.col("b.order_id")) & (F.col("a.category") < F.col("b.category")))
        .groupBy(F.col("a.category").alias("category_a"), F.col("b.category").alias("category_b"))
        .agg(F.count(F.lit(1)).alias("orders_together"))
        .where(F.col("orders_together") >= min_orders)
    )
    na = per_category.select(F.col("category").alias("category_a"), F.col("n").alias("n_a"))
    nb = per_category.select(F.col("category").alias("category_b"), F.col("n").alias("n_b"))
    together = F.col("orders_together")
    return (
        pairs.join(F.broadcast(na), "category_a")
        .join(F.broadcast(nb), "category_b")
        .crossJoin(F.broadcast(totals))
        .select(
            "category_a",
            "category_b",
            together.cast("long").alias("orders_together"),
            F.col("n_a").cast("long").alias("orders_a"),
            F.col("n_b").cast("long").alias("orders_b"),
            total.alias("orders_total"),
            F.round(together / total, 6).alias("support"),
            F.round(together / F.col("n_a"), 6).alias("confidence_a_to_b"),
            F.round(together / F.col("n_b"), 6).alias("confidence_b_to_a"),
            F.round(together * total / (F.col("n_a") * F.col("n_b")), 6).alias("lift"),
        )
    )


def run(spark: SparkSession, silver_uri: str, gold_uri: str, min_orders: int = 1) -> dict[str, str]:
    df = category_cooccurrence(spark, silver_uri, int(min_orders))
    uri = write_gold(df, gold_uri, TABLE, order_by=("category_a", "category_b"))
    return {TABLE: uri}


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--min-orders", dest="min_orders", type=int, help="drop rarer pairs (default 1)")


if __name__ == "__main__":
    main(run, __doc__ or TABLE, _options)
