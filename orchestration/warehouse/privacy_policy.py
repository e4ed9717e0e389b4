"""The privacy policy of what is published, as the marts declare it (transform/models/marts/
_marts__models.yml, `config.meta.privacy`, and the project's `privacy_min_k` var): per published table the
quasi-identifier sets a reader could link to a person, the joins a reader can make, what a group counts,
the rows that are no one, the minimum k and the treatments. Read by the gate (privacy.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
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
