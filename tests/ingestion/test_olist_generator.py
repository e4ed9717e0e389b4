"""The Olist generator writes the nine files of the contract, with the real formats, shapes and quirks.

Every file is read back with Python's standard csv module: if a quirk broke CSV (a bad quote, a stray line
break), a row would come back with the wrong number of fields and these tests would say so.
"""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from ingestion.olist_generator import UNTRANSLATED_CATEGORIES, generate_olist
from ingestion.olist_schema import (
    BRAZILIAN_STATES,
    CATEGORY_TRANSLATION,
    CUSTOMERS,
    GEOLOCATION,
    OLIST_TABLES,
    ORDER_ITEMS,
    ORDER_PAYMENTS,
    ORDER_REVIEWS,
    ORDERS,
    PRODUCTS,
    SELLERS,
    OlistTable,
)

SEED = 7
Rows = list[dict[str, str]]

HEX_ID = re.compile(r"[0-9a-f]{32}")
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
EMAIL = re.compile(r"[\w.]+@[\w.]+\.\w+")
PHONE = re.compile(r"\(\d{2}\) 9\d{4}-\d{4}")
CPF = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}")
COORDINATE = re.compile(r"-?\d+(\.\d+)?")  # plain decimal, never scientific notation


def read_table(directory: Path, table: OlistTable) -> Rows:
    """Read one file with the csv module, checking the header and every row's field count."""
    with (directory / table.file_name).open(encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header == table.header
        rows = list(reader)
    bad = [row for row in rows if len(row) != len(header)]
    assert not bad, f"{table.file_name}: {len(bad)} rows with a wrong field count, e.g. {bad[0]}"
    return [dict(zip(header, row, strict=True)) for row in rows]


class Dataset:
    """One generated folder, each file parsed once."""

    def __init__(self, directory: Path, counts: dict[str, int]) -> None:
        self.directory = directory
        self.counts = counts
        self.tables = {t.table: read_table(directory, t) for t in OLIST_TABLES}

    def __getitem__(self, table: OlistTable) -> Rows:
        return self.tables[table.table]

    def raw(self, table: OlistTable) -> bytes:
        return (self.directory / table.file_name).read_bytes()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    out = tmp_path_factory.mktemp("olist") / "sf001"
    return Dataset(out, generate_olist(out, scale=0.01, seed=SEED))


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Scale 0.1 (~10k orders): large enough for distribution checks to be tight."""
    out = tmp_path_factory.mktemp("olist") / "sf01"
    return Dataset(out, generate_olist(out, scale=0.1, seed=SEED))


def share(values: list[str], value: str) -> float:
    return sum(v == value for v in values) / len(values)


# ---------------------------------------------------------------------------------- counts, headers


def test_writes_the_nine_contract_files_and_nothing_else(small: Dataset) -> None:
    assert sorted(p.name for p in small.directory.iterdir()) == sorted(t.file_name for t in OLIST_TABLES)


def test_returned_counts_are_the_rows_in_the_files(small: Dataset) -> None:
    assert small.counts == {t.table: len(small[t]) for t in OLIST_TABLES}


@pytest.mark.parametrize(
    ("table", "tolerance"),
    [(ORDERS, 0), (CUSTOMERS, 0), (PRODUCTS, 0), (SELLERS, 0), (GEOLOCATION, 0),
     (ORDER_ITEMS, 0.02), (ORDER_PAYMENTS, 0.02), (ORDER_REVIEWS, 0.02)],
)  # fmt: skip
def test_counts_scale_linearly(medium: Dataset, table: OlistTable, tolerance: float) -> None:
    expected = table.real_rows * 0.1
    assert abs(len(medium[table]) - expected) <= max(1, tolerance * expected)


def test_small_scale_counts(small: Dataset) -> None:
    assert len(small[ORDERS]) == len(small[CUSTOMERS]) == 994
    assert (len(small[PRODUCTS]), len(small[SELLERS]), len(small[GEOLOCATION])) == (330, 31, 10_002)
    assert 1_070 <= len(small[ORDER_ITEMS]) <= 1_190


def test_translation_file_is_complete_at_every_scale(small: Dataset) -> None:
    assert len(small[CATEGORY_TRANSLATION]) == CATEGORY_TRANSLATION.real_rows == 71


def test_tiny_scales_still_work(tmp_path: Path) -> None:
    counts = generate_olist(tmp_path / "tiny", scale=0.0001, seed=SEED)
    assert counts[ORDERS.table] >= 30 and counts[SELLERS.table] >= 5 and counts[PRODUCTS.table] >= 30
    items = read_table(tmp_path / "tiny", ORDER_ITEMS)
    assert items and {r["seller_id"] for r in items} <= {
        r["seller_id"] for r in read_table(tmp_path / "tiny", SELLERS)
    }


def test_headers_are_quoted_except_in_the_translation_file(small: Dataset) -> None:
    for table in OLIST_TABLES:
        first_line = small.raw(table).split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
        if table is CATEGORY_TRANSLATION:
            assert first_line == "\ufeff" + ",".join(table.header)
        else:
            assert first_line == ",".join(f'"{name}"' for name in table.header)


# ------------------------------------------------------------------------------------- keys, links


@pytest.mark.parametrize("table", [t for t in OLIST_TABLES if t.primary_key], ids=lambda t: t.table)
def test_declared_keys_are_unique(small: Dataset, table: OlistTable) -> None:
    keys = [tuple(row[c] for c in table.primary_key) for row in small[table]]
    assert len(keys) == len(set(keys))


def test_review_id_alone_repeats(medium: Dataset) -> None:
    repeats = Counter(r["review_id"] for r in medium[ORDER_REVIEWS])
    repeated = [review_id for review_id, n in repeats.items() if n > 1]
    assert 40 <= len(repeated) <= 160  # ~80 at this scale (814 in the real file)


def test_ids_are_32_lowercase_hex(small: Dataset) -> None:
    columns = {ORDERS: ("order_id", "customer_id"), CUSTOMERS: ("customer_unique_id",),
               PRODUCTS: ("product_id",), SELLERS: ("seller_id",), ORDER_REVIEWS: ("review_id",)}  # fmt: skip
    for table, names in columns.items():
        for name in names:
            assert all(HEX_ID.fullmatch(r[name]) for r in small[table]), (table.table, name)


def test_references_resolve(small: Dataset) -> None:
    order_ids = {r["order_id"] for r in small[ORDERS]}
    assert {r["order_id"] for r in small[ORDER_ITEMS]} <= order_ids
    assert {r["order_id"] for r in small[ORDER_PAYMENTS]} <= order_ids
    assert {r["order_id"] for r in small[ORDER_REVIEWS]} <= order_ids
    assert {r["product_id"] for r in small[ORDER_ITEMS]} <= {r["product_id"] for r in small[PRODUCTS]}
    assert {r["seller_id"] for r in small[ORDER_ITEMS]} <= {r["seller_id"] for r in small[SELLERS]}
    assert [r["customer_id"] for r in small[ORDERS]] == [r["customer_id"] for r in small[CUSTOMERS]]


def test_every_product_and_seller_is_sold(medium: Dataset) -> None:
    assert {r["product_id"] for r in medium[ORDER_ITEMS]} == {r["product_id"] for r in medium[PRODUCTS]}
    assert {r["seller_id"] for r in medium[ORDER_ITEMS]} == {r["seller_id"] for r in medium[SELLERS]}


def test_item_and_payment_numbers_run_from_one(small: Dataset) -> None:
    for table, column in ((ORDER_ITEMS, "order_item_id"), (ORDER_PAYMENTS, "payment_sequential")):
        numbers: dict[str, list[int]] = defaultdict(list)
        for row in small[table]:
            numbers[row["order_id"]].append(int(row[column]))
        assert all(sorted(n) == list(range(1, len(n) + 1)) for n in numbers.values())


def test_customer_unique_id_repeats_like_real_persons(medium: Dataset) -> None:
    persons = {r["customer_unique_id"] for r in medium[CUSTOMERS]}
    assert len(persons) / len(medium[CUSTOMERS]) == pytest.approx(96_096 / 99_441, abs=0.005)


# ------------------------------------------------------------------------------------ distributions


def test_order_status_distribution(medium: Dataset) -> None:
    statuses = [r["order_status"] for r in medium[ORDERS]]
    assert share(statuses, "delivered") == pytest.approx(0.970, abs=0.006)
    assert share(statuses, "shipped") == pytest.approx(0.011, abs=0.004)
    assert share(statuses, "canceled") == pytest.approx(0.006, abs=0.003)
    assert share(statuses, "unavailable") == pytest.approx(0.006, abs=0.003)
    assert set(statuses) <= {"delivered", "shipped", "canceled", "unavailable", "invoiced", "processing",
                             "created", "approved"}  # fmt: skip


def test_payment_type_distribution(medium: Dataset) -> None:
    types = [r["payment_type"] for r in medium[ORDER_PAYMENTS]]
    assert share(types, "credit_card") == pytest.approx(0.74, abs=0.02)
    assert share(types, "boleto") == pytest.approx(0.19, abs=0.015)
    assert share(types, "voucher") == pytest.approx(0.055, abs=0.02)  # heavy-tailed: up to 20 rows per order
    assert share(types, "debit_card") == pytest.approx(0.015, abs=0.005)
    assert 1 <= types.count("not_defined") <= 3


def test_installments(medium: Dataset) -> None:
    by_type: dict[str, set[int]] = defaultdict(set)
    for row in medium[ORDER_PAYMENTS]:
        by_type[row["payment_type"]].add(int(row["payment_installments"]))
    assert by_type["credit_card"] <= set(range(25)) and max(by_type["credit_card"]) >= 10
    assert by_type["boleto"] == by_type["voucher"] == by_type["debit_card"] == {1}


def test_review_score_distribution(medium: Dataset) -> None:
    scores = [r["review_score"] for r in medium[ORDER_REVIEWS]]
    for score, expected in {"5": 0.58, "4": 0.19, "3": 0.08, "2": 0.03, "1": 0.115}.items():
        assert share(scores, score) == pytest.approx(expected, abs=0.02), score


def test_most_review_comments_are_empty(medium: Dataset) -> None:
    reviews = medium[ORDER_REVIEWS]
    assert share([r["review_comment_message"] for r in reviews], "") == pytest.approx(0.59, abs=0.03)
    assert share([r["review_comment_title"] for r in reviews], "") == pytest.approx(0.88, abs=0.02)


def test_customer_states_are_skewed_and_all_present(medium: Dataset) -> None:
    states = [r["customer_state"] for r in medium[CUSTOMERS]]
    assert set(states) == set(BRAZILIAN_STATES)
    assert share(states, "SP") == pytest.approx(0.42, abs=0.02)
    assert share(states, "RJ") == pytest.approx(0.13, abs=0.015)
    assert share(states, "MG") == pytest.approx(0.12, abs=0.015)


def test_sellers_are_mostly_in_sao_paulo(medium: Dataset) -> None:
    assert share([r["seller_state"] for r in medium[SELLERS]], "SP") == pytest.approx(
        0.60, abs=0.1
    )  # 310 sellers


def test_items_per_order(medium: Dataset) -> None:
    per_order = Counter(r["order_id"] for r in medium[ORDER_ITEMS])
    assert share([str(n) for n in per_order.values()], "1") == pytest.approx(0.90, abs=0.02)
    assert max(per_order.values()) >= 5


# -------------------------------------------------------------------------------------- money, time


def test_payments_match_item_totals_for_most_orders(small: Dataset) -> None:
    owed: dict[str, Decimal] = defaultdict(Decimal)
    paid: dict[str, Decimal] = defaultdict(Decimal)
    for item in small[ORDER_ITEMS]:
        owed[item["order_id"]] += Decimal(item["price"]) + Decimal(item["freight_value"])
    for payment in small[ORDER_PAYMENTS]:
        paid[payment["order_id"]] += Decimal(payment["payment_value"])
    orders = [r["order_id"] for r in small[ORDERS]]
    assert sum(owed[o] == paid[o] for o in orders) / len(orders) >= 0.97


def test_money_has_two_decimals_with_a_dot(small: Dataset) -> None:
    money = re.compile(r"\d+\.\d{2}")
    values = [r[c] for r in small[ORDER_ITEMS] for c in ("price", "freight_value")]
    values += [r["payment_value"] for r in small[ORDER_PAYMENTS]]
    assert all(money.fullmatch(v) for v in values)


def test_timestamps_are_formatted_or_empty(small: Dataset) -> None:
    for table in (ORDERS, ORDER_ITEMS, ORDER_REVIEWS):
        for column in (c.name for c in table.columns if c.type == "timestamp"):
            assert all(r[column] == "" or TIMESTAMP.fullmatch(r[column]) for r in small[table]), column


def test_order_timeline(medium: Dataset) -> None:
    orders = medium[ORDERS]
    purchases = [r["order_purchase_timestamp"] for r in orders]
    assert min(purchases) >= "2016-09" and max(purchases) < "2018-11"
    assert sum(p < "2017" for p in purchases) < 0.01 * len(orders)  # growth: few orders in 2016
    assert sum(p.startswith("2018") for p in purchases) > sum(p.startswith("2017") for p in purchases)
    approved = [r for r in orders if r["order_approved_at"]]
    assert all(r["order_approved_at"] >= r["order_purchase_timestamp"] for r in approved)
    delivered = [r for r in orders if r["order_status"] == "delivered" and r["order_delivered_customer_date"]]
    in_order = [
        r for r in delivered if r["order_delivered_customer_date"] >= r["order_delivered_carrier_date"]
    ]
    assert len(in_order) / len(delivered) > 0.99
    assert len(in_order) < len(delivered)  # the anomaly: delivered before the carrier picked up
    late = [r for r in delivered if r["order_delivered_customer_date"] > r["order_estimated_delivery_date"]]
    assert len(late) / len(delivered) == pytest.approx(0.08, abs=0.015)
    assert all(r["order_estimated_delivery_date"].endswith("00:00:00") for r in orders)


def _days(start: str, end: str) -> float:
    from datetime import datetime

    form = "%Y-%m-%d %H:%M:%S"
    return (datetime.strptime(end, form) - datetime.strptime(start, form)).total_seconds() / 86_400


def test_delivery_time_and_lateness_grow_with_the_route(medium: Dataset) -> None:
    """Like the real data: a median around 10 days with a long tail overall, a week or less inside Sao
    Paulo, three to four weeks to the North and Northeast, and more late deliveries on long routes."""
    seller_state = {r["seller_id"]: r["seller_state"] for r in medium[SELLERS]}
    customer_state = {r["customer_id"]: r["customer_state"] for r in medium[CUSTOMERS]}
    first_seller = {r["order_id"]: r["seller_id"] for r in medium[ORDER_ITEMS] if r["order_item_id"] == "1"}
    routes: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    for r in medium[ORDERS]:
        if r["order_status"] != "delivered" or not r["order_delivered_customer_date"]:
            continue
        if r["order_id"] not in first_seller:
            continue
        route = (seller_state[first_seller[r["order_id"]]], customer_state[r["customer_id"]])
        days = _days(r["order_purchase_timestamp"], r["order_delivered_customer_date"])
        routes[route].append((days, r["order_delivered_customer_date"] > r["order_estimated_delivery_date"]))

    def median(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[len(ordered) // 2]

    every = [d for found in routes.values() for d, _ in found]
    assert 8 <= median(every) <= 12
    assert 18 <= sorted(every)[int(0.9 * len(every))] <= 28  # p90: the long tail
    busy = {route: found for route, found in routes.items() if len(found) >= 20}
    medians = {route: median([d for d, _ in found]) for route, found in busy.items()}
    late = {route: sum(flag for _, flag in found) / len(found) for route, found in busy.items()}
    assert medians[("SP", "SP")] < 8
    assert min(medians.values()) < 8 and max(medians.values()) > 20  # routes differ: ~6 to ~28 days
    far = [
        found
        for (seller, customer), found in busy.items()
        if seller == "SP" and customer in {"CE", "PA", "MA", "RN", "PE", "BA"}
    ]
    far_late = sum(flag for found in far for _, flag in found) / sum(len(found) for found in far)
    assert far_late > 2 * late[("SP", "SP")]


def test_unknown_timestamps_are_empty_by_status(medium: Dataset) -> None:
    by_status: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in medium[ORDERS]:
        by_status[row["order_status"]].append(row)
    not_delivered = [r for s in ("shipped", "invoiced", "processing", "unavailable") for r in by_status[s]]
    assert all(r["order_delivered_customer_date"] == "" for r in not_delivered)
    assert all(
        r["order_delivered_carrier_date"] == "" for s in ("invoiced", "unavailable") for r in by_status[s]
    )
    assert all(r["order_delivered_carrier_date"] for r in by_status["shipped"])
    assert any(r["order_approved_at"] == "" for r in by_status["canceled"])
    assert all(r["order_approved_at"] == "" for r in by_status["created"])


def test_reviews_come_after_delivery_and_answers_after_reviews(small: Dataset) -> None:
    delivered = {r["order_id"]: r["order_delivered_customer_date"] for r in small[ORDERS]}
    for review in small[ORDER_REVIEWS]:
        assert review["review_creation_date"] > delivered[review["order_id"]]
        assert review["review_answer_timestamp"] > review["review_creation_date"]


def test_shipping_limit_is_days_after_purchase(small: Dataset) -> None:
    purchased = {r["order_id"]: r["order_purchase_timestamp"] for r in small[ORDERS]}
    assert all(r["shipping_limit_date"] > purchased[r["order_id"]] for r in small[ORDER_ITEMS])


# ------------------------------------------------------------------------------------------- quirks


def test_translation_file_has_bom_crlf_and_unquoted_header(small: Dataset) -> None:
    raw = small.raw(CATEGORY_TRANSLATION)
    assert raw.startswith(b"\xef\xbb\xbfproduct_category_name,product_category_name_english\r\n")
    assert raw.count(b"\r\n") == raw.count(b"\n") == 72


def test_line_ends_differ_by_file(small: Dataset) -> None:
    reviews = small.raw(ORDER_REVIEWS)
    assert reviews.split(b"\n", 1)[0].endswith(b"\r")
    assert reviews.endswith(b"\r\n")
    for table in (ORDERS, ORDER_ITEMS, ORDER_PAYMENTS, CUSTOMERS, PRODUCTS, SELLERS, GEOLOCATION):
        assert b"\r" not in small.raw(table), table.file_name


def test_review_texts_hold_line_breaks_quotes_commas_and_accents(small: Dataset) -> None:
    messages = [r["review_comment_message"] for r in small[ORDER_REVIEWS]]
    assert any("\r\n" in m for m in messages)
    assert any("\n" in m and "\r\n" not in m for m in messages)
    assert any('"' in m for m in messages) and any("," in m for m in messages)
    assert any(set(m) & set("çãéôáíú") for m in messages)
    assert b'""' in small.raw(ORDER_REVIEWS)  # embedded quotes are doubled inside a quoted field


def test_some_messages_leak_pii(small: Dataset) -> None:
    messages = [r["review_comment_message"] for r in small[ORDER_REVIEWS]]
    for pattern in (EMAIL, PHONE, CPF):
        assert any(pattern.search(m) for m in messages), pattern.pattern


def test_pii_is_a_small_share(medium: Dataset) -> None:
    messages = [r["review_comment_message"] for r in medium[ORDER_REVIEWS]]
    leaking = sum(bool(EMAIL.search(m) or PHONE.search(m) or CPF.search(m)) for m in messages)
    assert 0.002 < leaking / len(messages) < 0.02


def test_quoting_is_mixed(small: Dataset) -> None:
    lines = small.raw(ORDERS).decode("utf-8").splitlines()[1:]
    first_fields = [line.split(",", 1)[0] for line in lines]
    quoted = [f for f in first_fields if f.startswith('"')]
    assert quoted and len(quoted) < len(first_fields)
    assert all(f[1].isdigit() for f in quoted)  # quoted when the id starts with a digit


def test_zip_prefixes_keep_leading_zeros(small: Dataset) -> None:
    zips = [r["customer_zip_code_prefix"] for r in small[CUSTOMERS]]
    zips += [r["seller_zip_code_prefix"] for r in small[SELLERS]]
    zips += [r["geolocation_zip_code_prefix"] for r in small[GEOLOCATION]]
    assert all(re.fullmatch(r"\d{5}", z) for z in zips)
    assert share([z[0] for z in zips[: len(small[CUSTOMERS])]], "0") > 0.05


def test_cities_are_lowercase_and_belong_to_one_state(small: Dataset) -> None:
    state_of: dict[str, set[str]] = defaultdict(set)
    for row in small[CUSTOMERS]:
        assert row["customer_city"] == row["customer_city"].lower()
        state_of[row["customer_city"]].add(row["customer_state"])
    assert all(len(states) == 1 for states in state_of.values())


def test_untranslated_categories_and_products_without_category(small: Dataset) -> None:
    translated = {r["product_category_name"] for r in small[CATEGORY_TRANSLATION]}
    categories = {r["product_category_name"] for r in small[PRODUCTS]}
    assert set(UNTRANSLATED_CATEGORIES) <= categories
    assert not set(UNTRANSLATED_CATEGORIES) & translated
    assert {"cama_mesa_banho", "beleza_saude", "esporte_lazer"} <= translated
    no_category = [r for r in small[PRODUCTS] if not r["product_category_name"]]
    assert no_category
    empty_with_it = ("product_name_lenght", "product_description_lenght", "product_photos_qty")
    assert all(r[c] == "" for r in no_category for c in empty_with_it)


def test_products_without_category_scale_like_the_real_file(medium: Dataset) -> None:
    assert sum(not r["product_category_name"] for r in medium[PRODUCTS]) == 61


def test_some_products_lack_dimensions(small: Dataset) -> None:
    dims = ("product_weight_g", "product_length_cm", "product_height_cm", "product_width_cm")
    missing = [r for r in small[PRODUCTS] if not r["product_weight_g"]]
    assert missing and all(r[c] == "" for r in missing for c in dims)
    present = [r for r in small[PRODUCTS] if r["product_weight_g"]]
    assert all(r[c].isdigit() for r in present for c in dims)


def test_rare_payment_quirks_exist_at_small_scale(small: Dataset) -> None:
    payments = small[ORDER_PAYMENTS]
    assert any(r["payment_type"] == "not_defined" for r in payments)
    assert any(r["payment_installments"] == "0" for r in payments)
    assert any(r["payment_value"] == "0.00" for r in payments)


def test_geolocation_has_duplicates_mixed_spellings_and_precision(small: Dataset) -> None:
    geo = small[GEOLOCATION]
    rows = [tuple(r.values()) for r in geo]
    assert 0.15 < 1 - len(set(rows)) / len(rows) < 0.35
    spellings: dict[str, set[str]] = defaultdict(set)
    for row in geo:
        spellings[row["geolocation_zip_code_prefix"]].add(row["geolocation_city"])
    assert any({"sao paulo", "são paulo"} <= cities for cities in spellings.values())
    assert all(-34 < float(r["geolocation_lat"]) < 6 and -74 < float(r["geolocation_lng"]) < -34 for r in geo)
    assert all(COORDINATE.fullmatch(r[c]) for r in geo for c in ("geolocation_lat", "geolocation_lng"))
    assert share([str(len(r["geolocation_lat"].split(".")[1]) >= 12) for r in geo], "True") > 0.9


def test_customer_and_seller_zips_are_mostly_geolocated(small: Dataset) -> None:
    geolocated = {r["geolocation_zip_code_prefix"] for r in small[GEOLOCATION]}
    customer_zips = [r["customer_zip_code_prefix"] for r in small[CUSTOMERS]]
    assert sum(z in geolocated for z in customer_zips) / len(customer_zips) > 0.97
    assert sum(r["seller_zip_code_prefix"] in geolocated for r in small[SELLERS]) / len(small[SELLERS]) > 0.9


# ------------------------------------------------------------------------------ determinism, safety


def test_same_seed_same_bytes_other_seed_other_bytes(small: Dataset, tmp_path: Path) -> None:
    generate_olist(tmp_path / "again", scale=0.01, seed=SEED)
    generate_olist(tmp_path / "other", scale=0.01, seed=SEED + 1)
    for table in OLIST_TABLES:
        again = (tmp_path / "again" / table.file_name).read_bytes()
        assert again == small.raw(table), table.file_name
        if table is not CATEGORY_TRANSLATION:
            assert (tmp_path / "other" / table.file_name).read_bytes() != again, table.file_name


def test_refuses_to_overwrite_an_existing_directory(tmp_path: Path) -> None:
    out = tmp_path / "olist"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match=re.escape(str(out))):
        generate_olist(out, scale=0.01, seed=SEED)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["olist"]


def test_interrupted_run_leaves_nothing_behind(tmp_path: Path) -> None:
    def interrupt(table: str, rows: int) -> None:
        if table == GEOLOCATION.table:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate_olist(tmp_path / "olist", scale=0.01, seed=SEED, progress=interrupt)
    assert list(tmp_path.iterdir()) == []


def test_progress_reports_growing_counts_per_table(tmp_path: Path) -> None:
    seen: dict[str, list[int]] = defaultdict(list)
    counts = generate_olist(
        tmp_path / "olist", scale=0.01, seed=SEED, progress=lambda t, n: seen[t].append(n)
    )
    assert {table: rows[-1] for table, rows in seen.items()} == counts
    assert all(rows == sorted(rows) for rows in seen.values())


@pytest.mark.parametrize("scale", [0, -1, float("nan"), float("inf")])
def test_rejects_a_meaningless_scale(tmp_path: Path, scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate_olist(tmp_path / "olist", scale=scale, seed=SEED)
    assert list(tmp_path.iterdir()) == []
