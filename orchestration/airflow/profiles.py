"""The dbt profile of cofre's Cosmos tasks, from the Airflow connection `cofre_warehouse`.

The connection is an entry of the cofre vault (`airflow_conn_cofre_warehouse`, written by `cofre airflow
manifest` from the settings and the vault's own secrets: `airflow_tasks.store_warehouse_connection`),
served to Airflow by `security.airflow_backend.CofreVaultSecretsBackend`: it is in no DAG file, in no
serialized DAG and in no table of Airflow's database, and each lookup is a `secret.read` audit event.

Cosmos turns the connection into the profiles.yml it writes for each dbt process with a ProfileMapping.
cofre's mappings take the profile's shape from `transform/profiles.yml` (the DuckDB masking plugin, the
extension settings, threads and schema: one definition for `dbt build` by hand, `cofre run` and Airflow)
and fill in where the warehouse is from the connection. The secrets (masking key, PostgreSQL password)
stay `env_var()` references in that file: Cosmos passes their values in the dbt process's environment
only, under dbt's DBT_ENV_SECRET_ names, which dbt scrubs from its logs and artifacts.

Imported only while a DAG file builds a dbt task group (it imports Cosmos).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import yaml  # type: ignore[import-untyped]  # no stubs in the lock; plain safe_load/dump
from cosmos.profiles.base import BaseProfileMapping
from cosmos.profiles.postgres.user_pass import PostgresUserPasswordProfileMapping

from orchestration.warehouse.dbt_project import TRANSFORM_DIR
from security.credentials import DBT_MASKING_KEY_VAR, DBT_PG_PASSWORD_VAR, dbt_secret_env, masking_key_forms

_SECRET_VARS = {"masking_key": DBT_MASKING_KEY_VAR, "password": DBT_PG_PASSWORD_VAR}


@cache
def _profiles_yml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((TRANSFORM_DIR / "profiles.yml").read_text(encoding="utf-8"))
    return data


def profile_template(target: str) -> dict[str, Any]:
    """The output `target` of cofre's profile in transform/profiles.yml (a fresh copy to fill in)."""
    output: dict[str, Any] = yaml.safe_load(yaml.safe_dump(_profiles_yml()["cofre"]["outputs"][target]))
    return output


def _guard(masking_key: str) -> None:
    """Keep the key (and the HMAC pads derived from it) out of this task's logs: Airflow's masker and
    cofre's redaction filter, before any dbt line is logged."""
    from airflow.sdk.log import mask_secret

    for value in masking_key_forms(masking_key):
        mask_secret(value)


class CofreDuckDBProfileMapping(BaseProfileMapping):
    """cofre's DuckDB profile for the warehouse file of the connection (`host`); the masking key is the
    connection's password and reaches the masking plugin only as DBT_ENV_SECRET_MASKING_KEY."""

    airflow_connection_type: str = "duckdb"
    dbt_profile_type: str = "duckdb"
    required_fields = ["path", "masking_key"]  # noqa: RUF012 (Cosmos's attribute)
    secret_fields = ["masking_key"]  # noqa: RUF012 (Cosmos's attribute)
    airflow_param_mapping = {"path": "host", "masking_key": "password"}  # noqa: RUF012 (Cosmos's attribute)

    @classmethod
    def get_env_var_name(cls, field_name: str) -> str:
        """The names transform/profiles.yml reads (DBT_ENV_SECRET_*), not Cosmos's COSMOS_CONN_*."""
        return _SECRET_VARS[field_name]

    @property
    def profile(self) -> dict[str, Any]:
        return {**profile_template("duckdb"), "path": self.get_dbt_value("path")}

    @property
    def env_vars(self) -> dict[str, str]:
        env = super().env_vars
        _guard(env[DBT_MASKING_KEY_VAR])
        return {**env, **dbt_secret_env(env[DBT_MASKING_KEY_VAR])}


class CofrePostgresProfileMapping(PostgresUserPasswordProfileMapping):
    """cofre's PostgreSQL profile for the server of the connection (host, port, login, schema = the
    database). The password (empty with trust authentication) and the masking key (`extra.masking_key`)
    reach dbt in its environment: DBT_ENV_SECRET_PG_PASSWORD, and the PGOPTIONS that set
    `cofre.masking_key` in every session (read by the `mask_token` macro)."""

    required_fields = ["host", "user", "dbname", "masking_key"]  # noqa: RUF012 (Cosmos's attribute)
    secret_fields = ["password", "masking_key"]  # noqa: RUF012 (Cosmos's attribute)
    airflow_param_mapping = {  # noqa: RUF012 (Cosmos's attribute)
        **PostgresUserPasswordProfileMapping.airflow_param_mapping,
        "masking_key": "extra.masking_key",
        "sslmode": "extra.sslmode",
        "sslrootcert": "extra.sslrootcert",
    }

    @classmethod
    def get_env_var_name(cls, field_name: str) -> str:
        return _SECRET_VARS[field_name]

    @property
    def profile(self) -> dict[str, Any]:
        where = {
            "host": self.get_dbt_value("host"),
            "port": self.get_dbt_value("port"),
            "user": self.get_dbt_value("user"),
            "dbname": self.get_dbt_value("dbname"),
            # The TLS of every cofre PostgreSQL client (security.postgres_tls), from the connection.
            "sslmode": self.get_dbt_value("sslmode"),
            "sslrootcert": self.get_dbt_value("sslrootcert"),
        }
        return {**profile_template("postgres"), **self.filter_null(where)}

    @property
    def env_vars(self) -> dict[str, str]:
        key = str(self.get_dbt_value("masking_key") or "")
        if not key:
            raise ValueError(
                f"connection {self.conn_id} has no extra.masking_key: run `cofre airflow manifest`"
            )
        _guard(key)
        password = str(self.get_dbt_value("password") or "")
        return dbt_secret_env(key, password=password, inherited_pgoptions=os.environ.get("PGOPTIONS", ""))


PROFILE_MAPPINGS: dict[str, type[BaseProfileMapping]] = {
    "duckdb": CofreDuckDBProfileMapping,
    "postgres": CofrePostgresProfileMapping,
}
"""The mapping of each warehouse target (Settings.target)."""
