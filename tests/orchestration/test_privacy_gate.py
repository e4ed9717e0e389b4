"""The k-anonymity gate (orchestration/warehouse/privacy.py) on small hand-made marts, on DuckDB and
PostgreSQL alike: the verdict follows the policy (k, quasi-identifier sets, joins), and a failure names the
table, the columns and the smallest group sizes — never a value."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import psycopg2
import pytest
import yaml

from orchestration.warehouse import privacy
from tests.conftest import PG_HOST, PG_PORT, PG_USER

# Zip3 '013' holds five people, zip3 '699' three (one of whom bought twice); every order on its own day.
CUSTOMERS = [
    *((f"c{i}", f"p{i}", "SP", "013") for i in range(5)),
    ("c5", "p5", "AC", "699"),
    ("c6", "p6", "AC", "699"),
    ("c7", "p7", "AC", "699"),
    ("c8", "p7", "AC", "699"),
    ("unknown", "unknown", "??", None),
]
ORDERS = [(f"o{i}", f"c{i}", f"2018-01-{i + 1:02d}") for i in range(9)]
SECRET_LOOKING = ("013", "699", "SP", "AC", "2018-01")


def policy_file(tmp_path: Path, *, k: int = 3, with_date: bool = False, name: str = "policy.yml") -> Path:
    """A policy in the marts' YAML shape: dim_customer on (state, zip3), and fct_orders joined to it."""
    fact_set = ["dim_customer.state_code", "dim_customer.customer_zip3"] + (
        ["purchase_date"] if with_date else []
    )
    document = {
        "min_k": k,
        "models": [
            {
                "name": "dim_customer",
                "config": {
                    "meta": {
                        "privacy": {
                            "entity": "customer_unique_token",
                            "exclude": {"customer_key": "unknown"},
                            "quasi_identifiers": [["state_code", "customer_zip3"]],
                        }
                    }
                },
                "columns": [
                    {
                        "name": "customer_zip3",
                        "config": {
                            "meta": {"privacy": {"treatment": "zip3 to state", "generalised_to": None}}
                        },
                    }
                ],
            },
            {
                "name": "fct_orders",
                "config": {
                    "meta": {
                        "privacy": {
                            "entity": "dim_customer.customer_unique_token",
                            "joins": {"dim_customer": "customer_key"},
                            "quasi_identifiers": [fact_set],
                        }
                    }
                },
            },
        ],
    }
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def _create(
    execute: Callable[[str], Any], many: Callable[[str, list[tuple[Any, ...]]], Any], mark: str
) -> None:
    execute("create schema marts")
    execute(
        "create table marts.dim_customer (customer_key varchar, customer_unique_token varchar, "
        "state_code varchar, customer_zip3 varchar)"
    )
    execute("create table marts.fct_orders (order_id varchar, customer_key varchar, purchase_date date)")
    many(f"insert into marts.dim_customer values ({mark}, {mark}, {mark}, {mark})", CUSTOMERS)
    many(f"insert into marts.fct_orders values ({mark}, {mark}, cast({mark} as date))", ORDERS)


@pytest.fixture(scope="module")
def duckdb_marts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("privacy") / "cofre_build.duckdb"
    with duckdb.connect(str(path)) as con:
        _create(con.execute, con.executemany, "?")
    return path


@pytest.fixture
def measure_on(request: pytest.FixtureRequest, duckdb_marts: Path) -> Callable[[Path], list[privacy.KResult]]:
    """measure(policy file) on the engine of the test's parameter."""
    if request.param == "duckdb":
        return lambda path: privacy.measure_duckdb(duckdb_marts, privacy.load_policy(path), "marts")
    database = request.getfixturevalue("pg_database")
    con = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=database)
    with con, con.cursor() as cursor:
        _create(cursor.execute, cursor.executemany, "%s")
    request.addfinalizer(con.close)
    return lambda path: privacy.measure_postgres(con, privacy.load_policy(path), "marts")


ENGINES = pytest.mark.parametrize("measure_on", ["duckdb", "postgres"], indirect=True)


@ENGINES
def test_lowering_k_turns_a_failing_gate_into_a_passing_one(
    tmp_path: Path, measure_on: Callable[[Path], list[privacy.KResult]]
) -> None:
    strict = measure_on(policy_file(tmp_path, k=5))
    assert [(r.table, r.k, r.groups_below_k, r.records_below_k, r.smallest) for r in strict] == [
        ("dim_customer", 3, 1, 4, (3, 5)),  # p7 holds two customer ids: three people, four records
        ("fct_orders ⋈ dim_customer", 3, 1, 4, (3, 5)),
    ]
    with pytest.raises(privacy.PrivacyGateFailed) as failed:
        privacy.check(strict)
    message = str(failed.value)
    assert "dim_customer (state_code, customer_zip3): k=3 < 5" in message
    assert "fct_orders ⋈ dim_customer (dim_customer.state_code, dim_customer.customer_zip3)" in message
    assert "smallest groups: 3, 5" in message
    assert not any(value in message for value in SECRET_LOOKING), message

    lowered = measure_on(policy_file(tmp_path, k=3, name="lowered.yml"))
    assert all(r.passed for r in lowered)
    privacy.check(lowered)


@ENGINES
def test_adding_a_quasi_identifier_turns_a_passing_gate_into_a_failing_one(
    tmp_path: Path, measure_on: Callable[[Path], list[privacy.KResult]]
) -> None:
    privacy.check(measure_on(policy_file(tmp_path, k=3)))
    with_date = measure_on(policy_file(tmp_path, k=3, with_date=True, name="with_date.yml"))
    fact = with_date[-1]
    assert fact.columns == ("dim_customer.state_code", "dim_customer.customer_zip3", "purchase_date")
    assert (fact.k, fact.groups, fact.groups_below_k, fact.records_below_k) == (1, 9, 9, 9)
    with pytest.raises(privacy.PrivacyGateFailed, match="purchase_date"):
        privacy.check(with_date)


def test_the_report_says_what_was_generalised_in_counts(tmp_path: Path, duckdb_marts: Path) -> None:
    results = privacy.measure_duckdb(duckdb_marts, privacy.load_policy(policy_file(tmp_path)), "marts")
    assert results[0].generalised == ("dim_customer.customer_zip3 (0 rows null)",)
    rows = privacy.check_rows("run-1", results)
    assert rows[0][2:10] == ("dim_customer", "state_code, customer_zip3", 3, 3, 2, 0, 9, 0)
    details = privacy.audit_details("run-1", results)
    assert details["failures"] == [] and details["sets"][0]["smallest"] == (3, 5)


def test_the_gate_result_is_recorded_every_run(tmp_path: Path, duckdb_marts: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    results = privacy.measure_duckdb(duckdb_marts, privacy.load_policy(policy_file(tmp_path, k=5)), "marts")
    privacy.record_duckdb(path, "ops", privacy.check_rows("run-1", results))
    privacy.record_duckdb(path, "ops", privacy.check_rows("run-2", results))
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select run_id, table_name, k, records_below_k, passed from ops.privacy_checks order by 1, 2"
        ).fetchall()
    assert rows == [
        ("run-1", "dim_customer", 3, 4, False),
        ("run-1", "fct_orders ⋈ dim_customer", 3, 4, False),
        ("run-2", "dim_customer", 3, 4, False),
        ("run-2", "fct_orders ⋈ dim_customer", 3, 4, False),
    ]


def test_the_default_policy_covers_every_customer_linked_table() -> None:
    policy = privacy.load_policy()
    assert policy.min_k == 5
    assert {qi.table for qi in policy.sets} == {
        "dim_customer",
        "dim_seller",
        "fct_orders",
        "fct_order_items",
        "fct_payments",
        "fct_reviews",
    }
    assert all(qi.k == 5 for qi in policy.sets)
    treated = {(t.table, t.column) for t in policy.treatments}
    assert {
        ("dim_customer", "customer_zip3"),
        ("dim_seller", "seller_city"),
        ("fct_orders", "time_grain"),
    } <= treated


def test_a_policy_naming_a_table_that_is_not_joined_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text(
        yaml.safe_dump(
            {
                "models": [
                    {
                        "name": "fct_orders",
                        "config": {"meta": {"privacy": {"quasi_identifiers": [["dim_x.a"]]}}},
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(privacy.PrivacyPolicyError, match="not joined"):
        privacy.load_policy(path)
