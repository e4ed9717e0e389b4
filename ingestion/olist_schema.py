"""The contract of the nine Olist CSV files: names, exact headers, column types and keys.

One definition serves the generator (which writes these headers), the ingestion (which checks them and
casts each column) and the tests. Identifiers and zip prefixes are strings on purpose: read as integers,
"01310" loses its leading zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ColumnType(StrEnum):
    """Logical types of Olist columns; ingestion maps each to an Arrow/DuckDB type."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"  # money, two decimals
    DOUBLE = "double"  # coordinates
    TIMESTAMP = "timestamp"  # "YYYY-MM-DD HH:MM:SS", local Brazilian time, empty when unknown


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType = ColumnType.TEXT


@dataclass(frozen=True)
class OlistTable:
    """One Olist file and the table it becomes."""

    table: str
    file_name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    real_rows: int

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


T = ColumnType

ORDERS = OlistTable(
    table="orders",
    file_name="olist_orders_dataset.csv",
    columns=(
        Column("order_id"),
        Column("customer_id"),
        Column("order_status"),
        Column("order_purchase_timestamp", T.TIMESTAMP),
        Column("order_approved_at", T.TIMESTAMP),
        Column("order_delivered_carrier_date", T.TIMESTAMP),
        Column("order_delivered_customer_date", T.TIMESTAMP),
        Column("order_estimated_delivery_date", T.TIMESTAMP),
    ),
    primary_key=("order_id",),
    real_rows=99_441,
)

ORDER_ITEMS = OlistTable(
    table="order_items",
    file_name="olist_order_items_dataset.csv",
    columns=(
        Column("order_id"),
        Column("order_item_id", T.INTEGER),
        Column("product_id"),
        Column("seller_id"),
        Column("shipping_limit_date", T.TIMESTAMP),
        Column("price", T.DECIMAL),
        Column("freight_value", T.DECIMAL),
    ),
    primary_key=("order_id", "order_item_id"),
    real_rows=112_650,
)

ORDER_PAYMENTS = OlistTable(
    table="order_payments",
    file_name="olist_order_payments_dataset.csv",
    columns=(
        Column("order_id"),
        Column("payment_sequential", T.INTEGER),
        Column("payment_type"),
        Column("payment_installments", T.INTEGER),
        Column("payment_value", T.DECIMAL),
    ),
    primary_key=("order_id", "payment_sequential"),
    real_rows=103_886,
)

ORDER_REVIEWS = OlistTable(
    table="order_reviews",
    file_name="olist_order_reviews_dataset.csv",
    columns=(
        Column("review_id"),
        Column("order_id"),
        Column("review_score", T.INTEGER),
        Column("review_comment_title"),
        Column("review_comment_message"),
        Column("review_creation_date", T.TIMESTAMP),
        Column("review_answer_timestamp", T.TIMESTAMP),
    ),
    # review_id alone repeats a few hundred times in the real data; the pair is unique.
    primary_key=("review_id", "order_id"),
    real_rows=99_224,
)

CUSTOMERS = OlistTable(
    table="customers",
    file_name="olist_customers_dataset.csv",
    columns=(
        Column("customer_id"),
        Column("customer_unique_id"),
        Column("customer_zip_code_prefix"),
        Column("customer_city"),
        Column("customer_state"),
    ),
    primary_key=("customer_id",),
    real_rows=99_441,
)

PRODUCTS = OlistTable(
    table="products",
    file_name="olist_products_dataset.csv",
    columns=(
        Column("product_id"),
        Column("product_category_name"),
        # "lenght" is misspelt in the real header; kept verbatim.
        Column("product_name_lenght", T.INTEGER),
        Column("product_description_lenght", T.INTEGER),
        Column("product_photos_qty", T.INTEGER),
        Column("product_weight_g", T.INTEGER),
        Column("product_length_cm", T.INTEGER),
        Column("product_height_cm", T.INTEGER),
        Column("product_width_cm", T.INTEGER),
    ),
    primary_key=("product_id",),
    real_rows=32_951,
)

SELLERS = OlistTable(
    table="sellers",
    file_name="olist_sellers_dataset.csv",
    columns=(
        Column("seller_id"),
        Column("seller_zip_code_prefix"),
        Column("seller_city"),
        Column("seller_state"),
    ),
    primary_key=("seller_id",),
    real_rows=3_095,
)

GEOLOCATION = OlistTable(
    table="geolocation",
    file_name="olist_geolocation_dataset.csv",
    columns=(
        Column("geolocation_zip_code_prefix"),
        Column("geolocation_lat", T.DOUBLE),
        Column("geolocation_lng", T.DOUBLE),
        Column("geolocation_city"),
        Column("geolocation_state"),
    ),
    primary_key=(),  # many rows per zip prefix, exact duplicates included
    real_rows=1_000_163,
)

CATEGORY_TRANSLATION = OlistTable(
    table="product_category_name_translation",
    file_name="product_category_name_translation.csv",
    columns=(
        Column("product_category_name"),
        Column("product_category_name_english"),
    ),
    primary_key=("product_category_name",),
    real_rows=71,
)

OLIST_TABLES: tuple[OlistTable, ...] = (
    ORDERS,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    CUSTOMERS,
    PRODUCTS,
    SELLERS,
    GEOLOCATION,
    CATEGORY_TRANSLATION,
)

BRAZILIAN_STATES: tuple[str, ...] = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
    "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)  # fmt: skip


def table_by_name(name: str) -> OlistTable:
    for table in OLIST_TABLES:
        if table.table == name:
            return table
    raise KeyError(f"unknown Olist table {name!r}; known: {', '.join(t.table for t in OLIST_TABLES)}")
