"""Gold: delivery performance by route, seller state -> customer state.

Grain: one row per (seller_state, customer_state). A shipment is one (order, seller) of an order delivered
to its customer; `delivery_days` is calendar days from purchase to delivery (as `fct_orders`).
- `shipments`, `median_days` and `p90_days` (exact percentiles, linear interpolation),
  `avg_days`, `late_share` (delivered on a later day than estimated). Small: not partitioned.

    spark-submit spark_jobs/delivery_routes.py --silver URI --gold URI
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs._common import UNKNOWN, day, main, read_silver, write_gold

TABLE = "delivery_routes"


def delivery_routes(spark: SparkSession, silver_uri: str) -> DataFrame:
    items = read_silver(spark, silver_uri, "order_items").select("order_id", "seller_id")
    orders = read_silver(spark, silver_uri, "orders").select(
        "order_id", "customer_token", "purchased_at", "delivered_to_customer_at", "estimated_delivery_at"
    )
    sellers = read_silver(spark, silver_uri, "sellers").select("seller_id", "seller_state")
    customers = read_silver(spark, silver_uri, "customers").select("customer_token", "customer_state")
    shipments = (
        items.select("order_id", "seller_id")
        .distinct()
        .join(orders.where(F.col("delivered_to_customer_at").isNotNull()), "order_id", "inner")
        .join(sellers, "seller_id", "left")
        .join(customers, "customer_token", "left")
        .select(
            F.coalesce("seller_state", F.lit(UNKNOWN)).alias("seller_state"),
            F.coalesce("customer_state", F.lit(UNKNOWN)).alias("customer_state"),
            F.datediff(day("delivered_to_customer_at"), day("purchased_at")).alias("delivery_days"),
            (day("delivered_to_customer_at") > day("estimated_delivery_at")).cast("int").alias("late"),
        )
    )
    return shipments.groupBy("seller_state", "customer_state").agg(
        F.count(F.lit(1)).cast("long").alias("shipments"),
        F.percentile("delivery_days", 0.5).alias("median_days"),
        F.percentile("delivery_days", 0.9).alias("p90_days"),
        F.round(F.avg("delivery_days"), 4).alias("avg_days"),
        F.round(F.avg("late"), 4).alias("late_share"),
    )


def run(spark: SparkSession, silver_uri: str, gold_uri: str) -> dict[str, str]:
    uri = write_gold(
        delivery_routes(spark, silver_uri), gold_uri, TABLE, order_by=("seller_state", "customer_state")
    )
    return {TABLE: uri}


if __name__ == "__main__":
    main(run, __doc__ or TABLE)
