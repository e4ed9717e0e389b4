"""Free-text redaction (transform/macros/masking.sql `redact_text`) over a corpus of realistic Portuguese
review comments with planted CPFs, CNPJs, RGs, CEPs, phones, e-mails (spelled out too), URLs, street
addresses and names: the same result on DuckDB and PostgreSQL, no planted value left, normal text kept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orchestration.services import open_cofre_state
from orchestration.settings import Settings
from orchestration.warehouse.dbt import run_dbt
from security.secret_names import MASKING_KEY

CORPUS = json.loads((Path(__file__).parent / "redaction_corpus.json").read_text(encoding="utf-8"))
CASES = CORPUS["cases"]
PLACEHOLDER = re.compile(r"\[(url|email|perfil|cnpj|cpf|rg|cep|telefone|endereco|nome)\]")


def _digits(text: str) -> str:
    return re.sub(r"[^0-9]", "", text)


def test_corpus_is_realistic_and_plants_every_kind() -> None:
    texts = [case["text"] for case in CASES]
    assert len(texts) >= 40
    assert sum(1 for case in CASES if not case["planted"]) >= 10, "normal comments must be kept whole"
    joined = "\n".join(texts).lower()
    for marker in (
        "meu nome é",
        "me chamo",
        "sou a",
        "rua",
        "av.",
        "avenida",
        "cep",
        "rg",
        "cpf",
        "cnpj",
        "arroba",
        "ponto com",
        "https://",
        "www.",
        "@",
        "(11)",
        "+55",
    ):
        assert marker in joined, marker


def _redact_with_dbt(settings: Settings) -> list[str]:
    vault = open_cofre_state(settings, actor="test", create=True).vault
    vault.set(MASKING_KEY, "redaction-test-key-not-secret")
    rows = " union all ".join(
        f"select {i} as n, cast('{case['text'].replace(chr(39), chr(39) * 2)}' as varchar) as t"
        for i, case in enumerate(CASES)
    )
    query = f"select n, {{{{ redact_text('t') }}}} as redacted from ({rows}) as cases order by n"
    lines: list[str] = []
    run = run_dbt(
        ["show", "--quiet", "--output", "json", "--limit", "-1", "--inline", query],
        settings,
        vault,
        on_line=lines.append,
    )
    assert run.success, "\n".join(lines[-30:])
    shown = json.loads("\n".join(lines[lines.index("{") :]))["show"]
    assert [row["n"] for row in shown] == list(range(len(CASES)))
    return [row["redacted"] for row in shown]


def _problems(redacted: list[str]) -> list[str]:
    problems = []
    for case, result in zip(CASES, redacted, strict=True):
        where = f"{case['text'][:50]!r} -> {result!r}"
        for value in case["planted"]:
            if value in result:
                problems.append(f"{where}: planted {value!r} survived")
            if len(_digits(value)) >= 8 and _digits(value) in _digits(result):
                problems.append(f"{where}: digits of {value!r} survived")
        for fragment in case["kept"]:
            if fragment not in result:
                problems.append(f"{where}: normal text {fragment!r} lost")
        if case["planted"] and not PLACEHOLDER.search(result):
            problems.append(f"{where}: no placeholder")
        if not case["planted"] and result != case["text"]:
            problems.append(f"{where}: a comment without personal data was changed")
    return problems


@pytest.mark.integration
def test_duckdb_redacts_the_corpus(tmp_path: Path) -> None:
    redacted = _redact_with_dbt(Settings(home=tmp_path / "home"))
    assert _problems(redacted) == []
    assert redacted == [case["redacted"] for case in CASES]


@pytest.mark.integration
def test_postgres_redacts_the_corpus_like_duckdb(tmp_path: Path, pg_database: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host="127.0.0.1", user="postgres", dbname=pg_database)
    try:
        with connection, connection.cursor() as cursor:
            cursor.execute("create extension if not exists pgcrypto")
    finally:
        connection.close()
    redacted = _redact_with_dbt(Settings(home=tmp_path / "home", target="postgres", pg_database=pg_database))
    assert _problems(redacted) == []
    assert redacted == [case["redacted"] for case in CASES]
