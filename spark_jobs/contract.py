"""What the gold jobs read from the lake: the one list of silver tables, shared by the export that writes
them (orchestration/gold/silver_export.py) and the jobs that read them. Standard library only: shipped
to executors with the jobs."""

from __future__ import annotations

SILVER_TABLES = (
    "customers",
    "orders",
    "order_items",
    "order_payments",
    "order_reviews",
    "products",
    "product_categories",
    "sellers",
    "geolocation",
)
"""The masked silver tables exported to the lake (never bronze or raw)."""
IPCA_TABLE = "ipca"
"""The public IPCA series (BCB, not personal data), exported beside silver to deflate revenue."""
LAKE_TABLES = (*SILVER_TABLES, IPCA_TABLE)
"""Every table a gold job may read from the lake's silver layer."""
GOLD_JOBS = (
    "sales_daily",
    "seller_scorecard",
    "customer_cohorts",
    "delivery_routes",
    "category_cooccurrence",
)
"""Every gold job, in the order they are built (each is spark_jobs/<name>.py with a `run()`)."""
