"""The dbt project (transform/) as the orchestrators see it: where it is, what each dbt step builds, the
vars it passes, the executable. No heavy imports: the DAG files render from these at every parse."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.warehouse.schemas import marts_build_schema

TRANSFORM_DIR = Path(__file__).resolve().parents[2] / "transform"
"""The dbt project: profiles.yml lives beside dbt_project.yml."""

SILVER_SELECT = ("path:seeds", "path:models/staging", "path:models/silver")
"""What the `transform_silver` step builds: seeds, staging and masked silver (and the raw sources' tests)."""
MARTS_SELECT = ("path:models/marts", "path:models/gold")
"""What the `transform_marts` step builds: the star schema, after Spark's gold is in the warehouse (and the
gold sources' tests)."""
GOLD_TAG = "gold"
"""Tests that read Spark's gold (the gold reconciliation): their silver parents would let dbt's buildable
indirect selection run them in the silver build, before gold exists; they run with the marts."""


@dataclass(frozen=True)
class Selection:
    """What one dbt step builds: `--select` and `--exclude`."""

    select: tuple[str, ...]
    exclude: tuple[str, ...] = ()


STEP_SELECTION = {
    "transform_silver": Selection(SILVER_SELECT, exclude=(f"tag:{GOLD_TAG}",)),
    "transform_marts": Selection(MARTS_SELECT),
}
"""The selection of each dbt step's `dbt build`; the Airflow task groups render from the same."""
INDIRECT_SELECTION = "buildable"
"""A test runs with the build of its last parent: with dbt's default ("eager") the silver build would also
run the reconciliation tests that compare silver with marts not built yet."""


def layer_vars(target: str) -> dict[str, str]:
    """The vars of every dbt step: where the marts are built (see `schemas.marts_build_schema`)."""
    return {"marts_schema": marts_build_schema(target)}


def build_args(selection: Selection, target: str) -> list[str]:
    """`dbt build` of one layer of the project, as the embedded dbt steps run it. The Airflow task groups
    render from the same selection and pass the same `--indirect-selection` (airflow/dbt_group.py)."""
    exclude = ["--exclude", *selection.exclude] if selection.exclude else []
    return [
        "build",
        "--select",
        *selection.select,
        *exclude,
        "--indirect-selection",
        INDIRECT_SELECTION,
        "--vars",
        json.dumps(layer_vars(target)),
    ]


def dbt_executable() -> str:
    """The dbt of this virtualenv (a task or the CLI may run with another PATH)."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"
