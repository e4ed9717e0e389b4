"""The dbt project's conventions, checked from its files (no warehouse needed)."""

from __future__ import annotations

import re

import yaml

from orchestration.warehouse.dbt import TRANSFORM_DIR

MODELS = TRANSFORM_DIR / "models"


def _model_properties() -> dict[str, dict]:
    properties = {}
    for path in MODELS.rglob("*.yml"):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models", []):
            properties[model["name"]] = model
    return properties


def test_every_model_and_column_is_described() -> None:
    properties = _model_properties()
    sql_models = {path.stem for path in MODELS.rglob("*.sql")}
    assert sql_models == set(properties), sql_models ^ set(properties)
    for name, model in properties.items():
        assert model.get("description"), name
        if model.get("config", {}).get("materialized") == "spark_job":
            assert not model.get("columns"), name  # a Spark job drawn in the graph holds no data
            continue
        assert model.get("columns"), name
        for column in model["columns"]:
            assert column.get("description"), f"{name}.{column['name']}"


def test_marts_declare_types_and_primary_keys() -> None:
    for path in (MODELS / "marts").glob("*.sql"):
        model = _model_properties()[path.stem]
        assert all(column.get("data_type") for column in model["columns"]), path.stem
        keys = [
            column for column in model["columns"] if {"type": "primary_key"} in column.get("constraints", [])
        ]
        assert len(keys) == 1, path.stem
        assert {"unique", "not_null"} <= set(keys[0].get("data_tests", [])), path.stem


def test_staging_is_the_only_layer_reading_sources() -> None:
    for path in MODELS.rglob("*.sql"):
        reads_source = "source(" in path.read_text(encoding="utf-8")
        assert reads_source == (path.parent.parent.name == "staging"), path


def test_no_schema_name_is_hard_coded() -> None:
    for path in [*MODELS.rglob("*.sql"), *(TRANSFORM_DIR / "macros").rglob("*.sql")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\b(marts|silver|staging|raw_\w+)\.\w+", text), path


def test_no_secret_in_project_files() -> None:
    profiles = (TRANSFORM_DIR / "profiles.yml").read_text(encoding="utf-8")
    # The key: from dbt's environment (cofre gives it), else read by the plugin from the vault; never written.
    assert "masking_key: \"{{ env_var('DBT_ENV_SECRET_MASKING_KEY', '') }}\"" in profiles
    assert "key_source: orchestration.warehouse.dbt_masking:masking_key_from_vault" in profiles
    assert "env_var('DBT_ENV_SECRET_PG_PASSWORD', '')" in profiles
    project = (TRANSFORM_DIR / "dbt_project.yml").read_text(encoding="utf-8")
    assert "secret" not in project.lower().replace("no secret", "")


def test_staging_models_follow_the_naming() -> None:
    for path in (MODELS / "staging").rglob("*.sql"):
        source = path.parent.name
        assert path.stem.startswith(f"stg_{source}__"), path
        assert (path.parent / f"_{source}__sources.yml").exists(), path
