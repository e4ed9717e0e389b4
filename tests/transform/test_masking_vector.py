"""The shared masking test vector: Python, DuckDB and PostgreSQL give exactly the same tokens."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestration.services import open_cofre_state
from orchestration.settings import Settings
from orchestration.warehouse.dbt import run_dbt
from security.masking import duckdb_hmac_pads, mask_token
from security.secret_names import MASKING_KEY

VECTOR = json.loads((Path(__file__).parent / "masking_vector.json").read_text(encoding="utf-8"))


def test_vector_covers_accents_and_empty_string() -> None:
    inputs = [case["input"] for case in VECTOR["cases"]]
    assert "" in inputs
    assert any(not value.isascii() for value in inputs)
    assert any(value != value.strip() for value in inputs)


@pytest.mark.parametrize("case", VECTOR["cases"], ids=lambda case: repr(case["input"])[:30])
def test_python_reference_matches_vector(case: dict[str, str]) -> None:
    assert mask_token(case["input"], VECTOR["key"]) == case["token"]


def test_duckdb_pads_are_the_hmac_pads() -> None:
    ipad, opad = duckdb_hmac_pads("k")
    assert bytes.fromhex(ipad)[:1] == bytes([ord("k") ^ 0x36]) and len(bytes.fromhex(ipad)) == 64
    assert bytes.fromhex(opad)[1:] == bytes([0x5C] * 63)


def _vector_query() -> str:
    rows = " union all ".join(
        f"select {i} as n, '{case['input'].replace(chr(39), chr(39) * 2)}' as v"
        for i, case in enumerate(VECTOR["cases"])
    )
    return f"select n, {{{{ mask_token('v') }}}} as masked from ({rows}) as cases order by n"


def _tokens_from_dbt(settings: Settings) -> list[str]:
    vault = open_cofre_state(settings, actor="test", create=True).vault
    vault.set(MASKING_KEY, VECTOR["key"])
    lines: list[str] = []
    run = run_dbt(
        ["show", "--quiet", "--output", "json", "--limit", "-1", "--inline", _vector_query()],
        settings,
        vault,
        on_line=lines.append,
    )
    assert run.success, "\n".join(lines[-30:])
    # The output is redacted; the vector key is registered as a secret, tokens are not.
    shown = json.loads("\n".join(lines[lines.index("{") :]))["show"]
    return [row["masked"] for row in shown]


@pytest.mark.integration
def test_duckdb_macro_matches_vector(tmp_path: Path) -> None:
    tokens = _tokens_from_dbt(Settings(home=tmp_path / "home"))
    assert tokens == [case["token"] for case in VECTOR["cases"]]


@pytest.mark.integration
def test_postgres_macro_matches_vector(tmp_path: Path, pg_database: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("create extension if not exists pgcrypto")
    finally:
        connection.close()
    settings = Settings(home=tmp_path / "home", target="postgres", pg_database=pg_database)
    tokens = _tokens_from_dbt(settings)
    assert tokens == [case["token"] for case in VECTOR["cases"]]
