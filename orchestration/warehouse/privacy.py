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

import re
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the lock; plain safe_load

from orchestration.warehouse.dbt_project import TRANSFORM_DIR

POLICY_FILE = TRANSFORM_DIR / "models" / "marts" / "_marts__models.yml"
PROJECT_FILE = TRANSFORM_DIR / "dbt_project.yml"
DEFAULT_MIN_K = 5
CHECKS_TABLE = "privacy_checks"
"""Table of the `ops` schema holding the gate's result of every run (one row per quasi-identifier set)."""

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
Execute = Callable[[str], list[tuple[Any, ...]]]


class PrivacyPolicyError(ValueError):
    """The privacy policy cannot be read: a malformed entry, an unknown table or column name."""


class PrivacyGateFailed(RuntimeError):
    """A quasi-identifier set of the published data singles out groups smaller than the policy's k:
    nothing is published."""


@dataclass(frozen=True)
class QuasiIdentifierSet:
    """One set of columns a reader can link to a person, measured over the rows of `table` (joined to
    the dimensions of `joins` on their keys)."""

    table: str
    columns: tuple[str, ...]
    k: int
    entity: str | None = None
    joins: tuple[tuple[str, str], ...] = ()  # (dimension table, key column shared with `table`)
    exclude: tuple[tuple[str, str], ...] = ()  # (column, value): rows that are no one

    @property
    def label(self) -> str:
        joined = "".join(f" ⋈ {dimension}" for dimension, _ in self.joins)
        return f"{self.table}{joined}"


@dataclass(frozen=True)
class Treatment:
    """How a published column is generalised; `generalised_to` is what a generalised row holds (None:
    null), or "by_value" for a column that states the grain of the row (counted per value)."""

    table: str
    column: str
    treatment: str
    generalised_to: str | None
    exclude: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PrivacyPolicy:
    min_k: int
    sets: tuple[QuasiIdentifierSet, ...]
    treatments: tuple[Treatment, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class KResult:
    """The k-anonymity of one quasi-identifier set. Counts only."""

    table: str
    columns: tuple[str, ...]
    k_required: int
    k: int  # the smallest group (0 when the table is empty)
    groups: int
    groups_below_k: int
    records: int
    records_below_k: int
    smallest: tuple[int, ...]  # the five smallest group sizes
    entity: str | None = None
    generalised: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return self.groups_below_k == 0

    @property
    def share_below_k(self) -> float:
        return self.records_below_k / self.records if self.records else 0.0

    def describe(self) -> str:
        smallest = ", ".join(str(n) for n in self.smallest)
        return (
            f"{self.table} ({', '.join(self.columns)}): k={self.k} < {self.k_required}; "
            f"{self.groups_below_k} of {self.groups} groups, "
            f"{self.records_below_k} of {self.records} records ({self.share_below_k:.1%}) below k; "
            f"smallest groups: {smallest}"
        )


# ---- the policy ---------------------------------------------------------------------------------------


def load_policy(path: Path | None = None) -> PrivacyPolicy:
    """The privacy policy: the marts' YAML (and the project's `privacy_min_k`) by default, or `path`, a
    YAML file of the same shape (`models:` entries with `config.meta.privacy`) with an optional top-level
    `min_k` — how a test or an operator tries another policy (setting `privacy_policy`)."""
    if path is None:
        project = _read_yaml(PROJECT_FILE)
        min_k = int((project.get("vars") or {}).get("privacy_min_k", DEFAULT_MIN_K))
        document, source = _read_yaml(POLICY_FILE), str(POLICY_FILE)
    else:
        document, source = _read_yaml(path), str(path)
        min_k = int(document.get("min_k", DEFAULT_MIN_K))
    sets: list[QuasiIdentifierSet] = []
    treatments: list[Treatment] = []
    for model in document.get("models") or []:
        table = _identifier(model.get("name"), "model name")
        privacy = (_meta(model)).get("privacy")
        exclude = tuple(
            (_identifier(c, "exclude column"), str(v))
            for c, v in ((privacy or {}).get("exclude") or {}).items()
        )
        for column in model.get("columns") or []:
            treated = _meta(column).get("privacy")
            if treated:
                treatments.append(
                    Treatment(
                        table,
                        _identifier(column.get("name"), "column name"),
                        str(treated.get("treatment", "")),
                        None if treated.get("generalised_to") is None else str(treated["generalised_to"]),
                        exclude,
                    )
                )
        if not privacy:
            continue
        k = int(privacy.get("k", min_k))
        if k < 1:
            raise PrivacyPolicyError(f"{source}: {table}: k must be at least 1, not {k}")
        joins = tuple(
            (_identifier(dimension, "joined table"), _identifier(key, "join key"))
            for dimension, key in (privacy.get("joins") or {}).items()
        )
        entity = privacy.get("entity")
        for columns in privacy.get("quasi_identifiers") or []:
            if not isinstance(columns, list) or not columns:
                raise PrivacyPolicyError(f"{source}: {table}: a quasi-identifier set is a non-empty list")
            qualified = tuple(_column(c, table, joins) for c in columns)
            sets.append(
                QuasiIdentifierSet(
                    table,
                    qualified,
                    k,
                    _column(entity, table, joins) if entity else None,
                    joins,
                    exclude,
                )
            )
    return PrivacyPolicy(min_k, tuple(sets), tuple(treatments), source)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PrivacyPolicyError(f"cannot read the privacy policy {path}: {error}") from error
    if not isinstance(document, dict):
        raise PrivacyPolicyError(f"{path}: not a YAML mapping")
    return document


def _meta(node: dict[str, Any]) -> dict[str, Any]:
    config = node.get("config") or {}
    return {**(node.get("meta") or {}), **(config.get("meta") or {})}


def _identifier(name: object, what: str) -> str:
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise PrivacyPolicyError(f"privacy policy: {what} {name!r} is not a lower-case SQL identifier")
    return name


def _column(name: object, table: str, joins: tuple[tuple[str, str], ...]) -> str:
    """`column` (of `table`) or `dimension.column` (of a joined dimension), validated."""
    if not isinstance(name, str):
        raise PrivacyPolicyError(f"privacy policy: {table}: column {name!r} is not a name")
    owner, _, column = name.rpartition(".")
    if owner and owner != table and owner not in {d for d, _ in joins}:
        raise PrivacyPolicyError(f"privacy policy: {table}: {name} names a table that is not joined")
    _identifier(column, "column name")
    return f"{_identifier(owner, 'table name')}.{column}" if owner else column


# ---- measuring ----------------------------------------------------------------------------------------


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
