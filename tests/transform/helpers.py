"""Checks shared by the DuckDB and PostgreSQL tests, written against a `query(sql) -> rows` function."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from security.masking import duckdb_hmac_pads

Query = Callable[[str], list[tuple]]

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
CPF = re.compile(r"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b")
PHONE = re.compile(r"\(\d{2}\)\s?9?\d{4}-?\d{4}")
PUBLISHED_SCHEMAS = ("silver", "marts")


def tables(query: Query, schemas: Iterable[str] = PUBLISHED_SCHEMAS) -> list[tuple[str, str]]:
    names = ", ".join(f"'{s}'" for s in schemas)
    return [
        (schema, table)
        for schema, table in query(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({names}) order by 1, 2"
        )
    ]


def all_values(query: Query, schema: str, table: str) -> tuple[list[str], list[tuple]]:
    columns = [
        name
        for (name,) in query(
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{table}' order by ordinal_position"
        )
    ]
    return columns, query(f'select * from "{schema}"."{table}"')


def raw_pii(query: Query) -> dict[str, set]:
    """The personal values of the input that must not appear past staging."""
    customers = query(
        "select customer_id, customer_unique_id, customer_zip_code_prefix from raw_olist.customers"
    )
    coordinates = query("select geolocation_lat, geolocation_lng from raw_olist.geolocation")
    texts = query(
        "select review_comment_message from raw_olist.order_reviews where review_comment_message <> ''"
    )
    found_in_text = set()
    for (text,) in texts:
        for pattern in (EMAIL, CPF, PHONE):
            found_in_text |= set(pattern.findall(text))
    precise = {
        round(float(v), 6)
        for row in coordinates
        for v in row
        if v is not None and round(float(v), 2) != round(float(v), 6)
    }
    return {
        "ids": {c[0] for c in customers} | {c[1] for c in customers},
        "zips": {c[2] for c in customers},
        "coordinates": precise,
        "text": found_in_text,
    }


def scan_for_pii(query: Query) -> list[str]:
    """Every place a raw personal value appears in silver or marts (empty: none)."""
    pii = raw_pii(query)
    assert pii["ids"] and pii["zips"] and pii["coordinates"] and pii["text"], "the input must hold PII"
    findings = []
    for schema, table in tables(query):
        columns, rows = all_values(query, schema, table)
        for row in rows:
            for column, value in zip(columns, row, strict=True):
                if value is None:
                    continue
                if isinstance(value, str):
                    if value in pii["ids"] or value in pii["zips"]:
                        findings.append(f"{schema}.{table}.{column}: raw id/zip {value!r}")
                    elif any(fragment in value for fragment in pii["text"]):
                        findings.append(f"{schema}.{table}.{column}: text PII in {value[:60]!r}")
                elif isinstance(value, (float, Decimal)) and round(float(value), 6) in pii["coordinates"]:
                    findings.append(f"{schema}.{table}.{column}: full-precision coordinate {value}")
    return findings


def secret_forms(key: str) -> list[str]:
    """The key and everything derived from it that would reveal it (the DuckDB HMAC pads)."""
    return [key, *duckdb_hmac_pads(key)]


def files_containing(folders: Iterable[Path], needles: Iterable[str]) -> list[str]:
    needles = [n.encode() for n in needles]
    hits = []
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                hits += [f"{path}" for n in needles if n in data]
    return hits


def pii_columns_reaching_silver(manifest_path: Path, query: Query) -> list[str]:
    """Staging columns tagged pii that reach a silver model untreated.

    For every silver model selecting a staging model with pii columns: a `drop` column must be absent;
    a `token`/`generalize_zip` column must not exist under its staging name, and its masked column must
    share no value with the staging column; `round_coordinates` columns must have at most 2 decimals;
    `redact_text` columns must hold no e-mail, CPF or phone.
    """
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    problems = []
    for node in nodes.values():
        if node["resource_type"] != "model" or node["schema"] != "silver":
            continue
        silver_columns = {
            name
            for (name,) in query(
                "select column_name from information_schema.columns "
                f"where table_schema = 'silver' and table_name = '{node['alias']}'"
            )
        }
        for parent_id in node["depends_on"]["nodes"]:
            parent = nodes.get(parent_id)
            if parent is None or parent["schema"] != "staging":
                continue
            for column in parent["columns"].values():
                meta = {**column.get("meta", {}), **(column.get("config") or {}).get("meta", {})}
                if not meta.get("pii"):
                    continue
                name, policy = column["name"], meta.get("masking")
                masked = meta.get("masked_as", name)
                where = f"silver.{node['alias']}.{masked} (from {parent['name']}.{name}, {policy})"
                if policy == "drop":
                    if name in silver_columns:
                        problems.append(f"{where}: dropped column present")
                    continue
                if masked not in silver_columns:
                    problems.append(f"{where}: masked column missing")
                    continue
                if policy in ("token", "generalize_zip"):
                    if name in silver_columns and name != masked:
                        problems.append(f"{where}: raw column kept beside the masked one")
                    shared = query(
                        f'select count(*) from silver."{node["alias"]}" as s '
                        f'where s.{masked} in (select {name} from staging."{parent["alias"]}")'
                    )[0][0]
                    if shared:
                        problems.append(f"{where}: {shared} raw values reached silver")
                elif policy == "round_coordinates":
                    rows = query(f'select {masked} from silver."{node["alias"]}" where {masked} is not null')
                    if any(round(float(v), 2) != float(v) for (v,) in rows):
                        problems.append(f"{where}: coordinates not rounded")
                elif policy == "redact_text":
                    rows = query(f'select {masked} from silver."{node["alias"]}" where {masked} is not null')
                    if any(p.search(v) for (v,) in rows for p in (EMAIL, CPF, PHONE)):
                        problems.append(f"{where}: text not redacted")
                else:
                    problems.append(f"{where}: unknown policy")
    return problems


def reconciliation(query: Query) -> dict[str, object]:
    """Totals raw -> silver -> marts, to compare to the cent."""
    one = lambda sql: query(sql)[0][0]  # noqa: E731
    return {
        "raw_items_total": one("select sum(price + freight_value) from raw_olist.order_items"),
        "silver_items_total": one("select sum(price + freight_value) from silver.order_items"),
        "mart_items_total": one("select sum(item_total) from marts.fct_order_items"),
        "mart_orders_total": one("select sum(items_total) from marts.fct_orders"),
        "raw_orders": one("select count(distinct order_id) from raw_olist.orders"),
        "silver_orders": one("select count(*) from silver.orders"),
        "mart_orders": one("select count(*) from marts.fct_orders"),
    }


def assert_reconciles_to_the_cent(query: Query) -> None:
    """Item totals equal from raw to marts, and order counts equal at every layer."""
    totals = reconciliation(query)
    assert isinstance(totals["raw_items_total"], Decimal)
    assert (
        totals["raw_items_total"]
        == totals["silver_items_total"]
        == totals["mart_items_total"]
        == totals["mart_orders_total"]
    )
    assert totals["raw_orders"] == totals["silver_orders"] == totals["mart_orders"] > 0


def assert_key_never_written(key: str, home: Path, transform_dir: Path, output: list[str]) -> None:
    """The masking key (and its HMAC pads) appears in no dbt artifact or log, and in no output line."""
    assert files_containing([home / "dbt", transform_dir], secret_forms(key)) == []
    assert not any(key in line for line in output)


# ---------------------------------------------------------------- real-format Olist deliveries with gaps

ORDERS_FILE = "olist_orders_dataset.csv"
ITEMS_FILE = "olist_order_items_dataset.csv"
PAYMENTS_FILE = "olist_order_payments_dataset.csv"
REVIEWS_FILE = "olist_order_reviews_dataset.csv"
CUSTOMERS_FILE = "olist_customers_dataset.csv"
PRODUCTS_FILE = "olist_products_dataset.csv"
SELLERS_FILE = "olist_sellers_dataset.csv"


def olist_records(path: Path) -> list[list[str]]:
    """The records of an Olist file (header excluded), read as the real files must be read."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1:]


def _drop_lines(path: Path, first_field_in: set[str]) -> int:
    """Remove the physical lines whose first field is in `first_field_in` (files without quoted line
    breaks: customers, products, sellers), keeping every other byte of the file as it was."""
    import csv

    kept, dropped = [], 0
    with path.open(encoding="utf-8", newline="") as handle:
        lines = handle.readlines()
    for number, line in enumerate(lines):
        if number and next(csv.reader([line]))[0] in first_field_in:
            dropped += 1
            continue
        kept.append(line)
    path.write_text("".join(kept), encoding="utf-8", newline="")
    return dropped


def _append_record(path: Path, record: list[str]) -> None:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(record)
    data = path.read_bytes()
    with path.open("ab") as handle:
        if not data.endswith(b"\n"):
            handle.write(b"\n")
        handle.write(buffer.getvalue().encode("utf-8"))


@dataclass(frozen=True)
class Gaps:
    """What a delivery with gaps lacks, and the conflicting duplicates it holds."""

    orphan_orders: set[str]  # orders whose customer is missing
    orphan_customers: dict[str, str]  # order id -> its missing customer id
    missing_product: str
    missing_seller: str
    conflicting_order: str  # appended again with another status
    repeated_order: str  # appended again unchanged (a repeat, not a conflict)


def olist_delivery_with_gaps(complete: Path, destination: Path) -> Gaps:
    """A copy of the real-format Olist folder `complete` where two orders' customers, one product and one
    seller are missing from their files (late-arriving dimensions), one delivered order appears a second
    time as still `shipped` (a conflicting duplicate), and another appears twice unchanged."""
    import shutil

    shutil.copytree(complete, destination)
    orders = olist_records(complete / ORDERS_FILE)
    items = olist_records(complete / ITEMS_FILE)
    delivered = [o for o in orders if o[2] == "delivered" and o[6]]
    orphan_customers = {o[0]: o[1] for o in delivered[:2]}
    _drop_lines(destination / CUSTOMERS_FILE, set(orphan_customers.values()))
    other_items = [i for i in items if i[0] not in orphan_customers]
    missing_product, missing_seller = other_items[0][2], other_items[-1][3]
    assert _drop_lines(destination / PRODUCTS_FILE, {missing_product}) == 1
    assert _drop_lines(destination / SELLERS_FILE, {missing_seller}) == 1
    conflicting = delivered[2]
    # The same order, as an earlier status report would show it: shipped, not yet delivered.
    _append_record(
        destination / ORDERS_FILE, [*conflicting[:2], "shipped", *conflicting[3:6], "", conflicting[7]]
    )
    repeated = delivered[3]
    _append_record(destination / ORDERS_FILE, repeated)
    return Gaps(
        orphan_orders=set(orphan_customers),
        orphan_customers=orphan_customers,
        missing_product=missing_product,
        missing_seller=missing_seller,
        conflicting_order=conflicting[0],
        repeated_order=repeated[0],
    )
