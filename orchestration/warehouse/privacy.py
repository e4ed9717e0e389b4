"""The k-anonymity gate of what is published (issue 15): "what is published must not single anyone out".

The privacy policy lives with the marts (transform/models/marts/_marts__models.yml, `config.meta.privacy`
of each published model, and the project's `privacy_min_k` var): per table the quasi-identifier sets — the
columns a reader could link to a person, including those of the dimensions a reader can join on their keys
(`table.column` with `joins`) — what a group counts (`entity`, distinct; rows when absent), the rows that
are no one (`exclude`: the unknown member) and the minimum k. The marts apply the treatments
(transform/macros/privacy.sql); this module measures the result before every publish:

- for every set: the smallest group (k), the groups and records below the policy's k, and the five
  smallest group sizes — counts only, never a value of a quasi-identifier;
- the SQL is generated from the policy (quoted identifiers, standard SQL), so it runs alike on DuckDB and
  PostgreSQL;
- every run records the results (`ops.privacy_checks`, and a `gate.result` audit event); a set below its
  k stops the run before publish, naming the table, the columns and the smallest group sizes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestration.warehouse.privacy_policy import (
    CHECKS_TABLE,
    POLICY_FILE,
    Execute,
    KResult,
    PrivacyGateFailed,
    PrivacyPolicy,
    PrivacyPolicyError,
    QuasiIdentifierSet,
    Treatment,
    load_policy,
)


def _quoted(schema: str, qualified: str, table: str) -> str:
    owner, _, column = qualified.rpartition(".")
    return f'"{owner or table}"."{column}"'


def _records_sql(qi: QuasiIdentifierSet, schema: str) -> str:
    columns = ",\n        ".join(f"{_quoted(schema, c, qi.table)} as q{i}" for i, c in enumerate(qi.columns))
    entity = _quoted(schema, qi.entity, qi.table) if qi.entity else "1"
    joins = "".join(
        f'\n    left join "{schema}"."{dimension}" as "{dimension}"'
        f'\n        on "{qi.table}"."{key}" = "{dimension}"."{key}"'
        for dimension, key in qi.joins
    )
    where = " and ".join(
        f'"{qi.table}"."{column}" is distinct from \'{value.replace(chr(39), chr(39) * 2)}\''
        for column, value in qi.exclude
    )
    return (
        f"select\n        {columns},\n        {entity} as entity\n"
        f'    from "{schema}"."{qi.table}" as "{qi.table}"{joins}' + (f"\n    where {where}" if where else "")
    )


def groups_sql(qi: QuasiIdentifierSet, schema: str) -> str:
    """One row per group of the set: its size (distinct entities, or rows) and its records."""
    keys = ", ".join(f"q{i}" for i in range(len(qi.columns)))
    size = "count(distinct entity)" if qi.entity else "count(*)"
    return (
        f"with records as (\n    {_records_sql(qi, schema)}\n)\n"
        f"select {size} as size, count(*) as records\nfrom records\ngroup by {keys}"
    )


def measure_sql(qi: QuasiIdentifierSet, schema: str) -> str:
    """k, groups, groups below k, records, records below k — in standard SQL (DuckDB and PostgreSQL)."""
    return (
        f"with groups as (\n{groups_sql(qi, schema)}\n)\n"
        f"select coalesce(min(size), 0), count(*), "
        f"coalesce(sum(case when size < {qi.k} then 1 else 0 end), 0), coalesce(sum(records), 0), "
        f"coalesce(sum(case when size < {qi.k} then records else 0 end), 0)\nfrom groups"
    )


def smallest_sql(qi: QuasiIdentifierSet, schema: str, n: int = 5) -> str:
    return f"with groups as (\n{groups_sql(qi, schema)}\n)\nselect size from groups order by size limit {n}"


def _generalised_sql(treatment: Treatment, schema: str) -> str:
    column = f'"{treatment.column}"'
    where = [f"\"{c}\" is distinct from '{v}'" for c, v in treatment.exclude]
    source = f'"{schema}"."{treatment.table}"'
    if treatment.generalised_to == "by_value":
        return (
            f"select cast({column} as varchar), count(*) from {source}"
            + (f" where {' and '.join(where)}" if where else "")
            + f" group by {column} order by 1"
        )
    match = (
        f"{column} is null"
        if treatment.generalised_to is None
        else f"{column} = '{treatment.generalised_to}'"
    )
    return f"select 'generalised', count(*) from {source} where {' and '.join([match, *where])}"


def measure(execute: Execute, policy: PrivacyPolicy, schema: str) -> list[KResult]:
    """Measure every quasi-identifier set of `policy` on the tables of `schema` through `execute` (one
    SQL statement in, its rows out)."""
    generalised = _generalised(execute, policy, schema)
    results = []
    for qi in policy.sets:
        k, groups, below, records, records_below = (int(v) for v in execute(measure_sql(qi, schema))[0])
        smallest = tuple(int(row[0]) for row in execute(smallest_sql(qi, schema)))
        tables = {qi.table, *(d for d, _ in qi.joins)}
        results.append(
            KResult(
                qi.label,
                qi.columns,
                qi.k,
                k,
                groups,
                below,
                records,
                records_below,
                smallest,
                qi.entity,
                tuple(text for table, text in generalised if table in tables),
            )
        )
    return results


def _generalised(execute: Execute, policy: PrivacyPolicy, schema: str) -> list[tuple[str, str]]:
    """What the treatments generalised, per table: `column: treatment — n rows` (counts only)."""
    present = {
        (str(table), str(column))
        for table, column in execute(
            f"select table_name, column_name from information_schema.columns where table_schema = '{schema}'"
        )
    }
    found = []
    for treatment in policy.treatments:
        if (treatment.table, treatment.column) not in present:
            found.append(
                (treatment.table, f"{treatment.table}.{treatment.column} (not applied: no such column)")
            )
            continue
        rows = execute(_generalised_sql(treatment, schema))
        if treatment.generalised_to == "by_value":
            counts = ", ".join(f"{value}: {int(n)}" for value, n in rows)
        else:
            shown = "null" if treatment.generalised_to is None else repr(treatment.generalised_to)
            counts = f"{int(rows[0][1]) if rows else 0} rows {shown}"
        found.append((treatment.table, f"{treatment.table}.{treatment.column} ({counts})"))
    return found


def measure_duckdb(path: Path, policy: PrivacyPolicy, schema: str) -> list[KResult]:
    import duckdb

    with closing(duckdb.connect(str(path), read_only=True)) as con:
        return measure(lambda sql: con.execute(sql).fetchall(), policy, schema)


def measure_postgres(con: Any, policy: PrivacyPolicy, schema: str) -> list[KResult]:
    with con.cursor() as cursor:

        def execute(sql: str) -> list[tuple[Any, ...]]:
            cursor.execute(sql)
            return list(cursor.fetchall())

        try:
            return measure(execute, policy, schema)
        finally:
            con.rollback()


def failures(results: Iterable[KResult]) -> list[str]:
    return [result.describe() for result in results if not result.passed]


def check(results: Sequence[KResult]) -> None:
    """Raise PrivacyGateFailed naming every set below its k (table, columns, smallest group sizes)."""
    failed = failures(results)
    if failed:
        raise PrivacyGateFailed("privacy gate failed, nothing published: " + "; ".join(failed))


# ---- recording and reporting --------------------------------------------------------------------------

CHECKS_COLUMNS = (
    ("run_id", "varchar"),
    ("checked_at", "varchar"),
    ("table_name", "varchar"),
    ("quasi_identifiers", "varchar"),
    ("k_required", "integer"),
    ("k", "integer"),
    ("groups", "integer"),
    ("groups_below_k", "integer"),
    ("records", "bigint"),
    ("records_below_k", "bigint"),
    ("share_below_k", "double precision"),
    ("smallest_groups", "varchar"),
    ("generalised", "varchar"),
    ("passed", "boolean"),
)


def check_rows(run_id: str, results: Iterable[KResult]) -> list[tuple[Any, ...]]:
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    return [
        (
            run_id,
            checked_at,
            r.table,
            ", ".join(r.columns),
            r.k_required,
            r.k,
            r.groups,
            r.groups_below_k,
            r.records,
            r.records_below_k,
            round(r.share_below_k, 6),
            ", ".join(str(n) for n in r.smallest),
            "; ".join(r.generalised),
            r.passed,
        )
        for r in results
    ]


def record_duckdb(path: Path, schema: str, rows: list[tuple[Any, ...]]) -> None:
    import duckdb

    with closing(duckdb.connect(str(path))) as con:
        con.execute(f'create schema if not exists "{schema}"')
        con.execute(_create_checks_sql(schema))
        if rows:
            marks = ", ".join("?" for _ in CHECKS_COLUMNS)
            con.executemany(f'insert into "{schema}"."{CHECKS_TABLE}" values ({marks})', rows)


def record_postgres(con: Any, schema: str, rows: list[tuple[Any, ...]]) -> None:
    with con, con.cursor() as cursor:
        cursor.execute(f'create schema if not exists "{schema}"')
        cursor.execute(_create_checks_sql(schema))
        marks = ", ".join("%s" for _ in CHECKS_COLUMNS)
        for row in rows:
            cursor.execute(f'insert into "{schema}"."{CHECKS_TABLE}" values ({marks})', row)


def _create_checks_sql(schema: str) -> str:
    columns = ", ".join(f"{name} {kind}" for name, kind in CHECKS_COLUMNS)
    return f'create table if not exists "{schema}"."{CHECKS_TABLE}" ({columns})'


def audit_details(run_id: str, results: Iterable[KResult]) -> dict[str, Any]:
    """The gate.result event's details: counts per set, never a value."""
    listed = list(results)
    return {
        "run_id": run_id,
        "sets": [
            {
                key: value
                for key, value in asdict(r).items()
                if key
                in (
                    "table",
                    "columns",
                    "k_required",
                    "k",
                    "groups_below_k",
                    "records",
                    "records_below_k",
                    "smallest",
                )
            }
            for r in listed
        ],
        "failures": failures(listed),
    }


def report_lines(results: Iterable[KResult]) -> list[tuple[str, ...]]:
    """Rows of the k-anonymity report: table, quasi-identifiers, k (required), records below k, verdict,
    what was generalised."""
    return [
        (
            r.table,
            ", ".join(r.columns),
            f"{r.k} (≥ {r.k_required})",
            f"{r.records_below_k} of {r.records} ({r.share_below_k:.1%})",
            "ok" if r.passed else "BELOW k",
            "; ".join(r.generalised) or "-",
        )
        for r in results
    ]


__all__ = [
    "POLICY_FILE",
    "KResult",
    "PrivacyGateFailed",
    "PrivacyPolicyError",
    "audit_details",
    "check",
    "check_rows",
    "failures",
    "load_policy",
    "measure_duckdb",
    "measure_postgres",
    "record_duckdb",
    "record_postgres",
    "report_lines",
]
