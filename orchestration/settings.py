"""The one typed settings object of cofre.

It is read once at the edge (the CLI, or an Airflow DAG file) from COFRE_* environment variables and
command-line overrides, then passed to every step. No other module reads environment variables or config
files: a component receives the paths and values it needs as arguments.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from security.state import AUDIT_FILE, VAULT_FILE, default_config_home

Target = Literal["duckdb", "postgres"]
SourceMode = Literal["replay", "live"]


class Settings(BaseSettings):
    """Everything a run needs to know, with the embedded default for each value."""

    model_config = SettingsConfigDict(env_prefix="COFRE_", extra="forbid", frozen=True)

    home: Path = Field(
        default=Path(".cofre"), description="State directory: vault, keys, lake, warehouse, logs."
    )
    target: Target = Field(default="duckdb", description="Warehouse: embedded DuckDB file or PostgreSQL.")

    # Olist input: generated at `scale` with `seed`, unless `olist_dir` points at real-format CSV files.
    scale: float = Field(
        default=0.1, gt=0, le=10, description="Generated data size; 1 = the real row counts."
    )
    seed: int = Field(default=42, description="Seed of the Olist-shaped generator (same seed, same files).")
    olist_dir: Path | None = Field(default=None, description="Folder holding the nine real Olist CSV files.")

    # Public APIs: `replay` answers from recorded snapshots (offline), `live` calls the real services.
    api_mode: SourceMode = "replay"
    bcb_base_url: str = "https://api.bcb.gov.br"
    openweather_base_url: str = "https://api.openweathermap.org"
    ipca_start: str = Field(default="2016-01", description="First IPCA month to load (YYYY-MM).")
    ipca_end: str = Field(default="2018-12", description="Last IPCA month to load (YYYY-MM).")
    http_timeout_s: float = 20.0
    http_retries: int = 4

    # PostgreSQL warehouse (target=postgres). The password, when the server needs one, lives in the vault.
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    pg_database: str = "cofre"
    pg_reader_user: str = Field(
        default="cofre_reader",
        description="Login role of the dashboard and Grafana: SELECT on marts, gold and ops, nothing else.",
    )
    pg_sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] | None = Field(
        default=None,
        description="libpq sslmode of every PostgreSQL client (pipeline, dlt, dbt, dashboard). Unset: "
        "verify-full beyond loopback (the only mode allowed there), prefer on loopback.",
    )
    pg_sslrootcert: str | None = Field(
        default=None,
        description="CA certificate (PEM file) that signed the PostgreSQL server's certificate, or `system` "
        "for the operating system's CA store; required when the server is not on this machine.",
    )
    pg_reader_password_file: Path | None = Field(
        default=None,
        description="File holding the reader role's password, for a dashboard that holds no vault (the "
        "stack's Docker secret); unset: the vault entry pg_reader_password.",
    )

    # The lake: a local folder under the state directory (default) or an S3 prefix on MinIO/any S3.
    # S3 credentials are the vault entries lake_access_key / lake_secret_key, never settings.
    lake_url: str | None = Field(
        default=None, description="Lake root: file:///path or s3://bucket/prefix (default: <home>/lake)."
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3 API endpoint, e.g. http://127.0.0.1:9000 (MinIO); unset for AWS."
    )
    s3_region: str = "us-east-1"
    cold_url: str | None = Field(
        default=None,
        description="Cold layer: another bucket or prefix on the same endpoint (default: <lake>/cold).",
    )
    retention_days: int = Field(
        default=90, ge=0, description="Bronze loads older than this many days move to the cold layer."
    )

    # Spark of the gold step. `local[N]` runs the jobs in this process; any other master (spark://host:7077,
    # yarn, k8s://…, local-cluster[…]) gets each job through spark-submit on the lake's own URLs.
    spark_master: str = Field(default="local[2]", description="Spark master of the gold step.")

    # Lineage: OpenLineage events of every step go to <home>/lineage/openlineage.jsonl, and here too when set.
    lineage_url: str | None = Field(
        default=None,
        description="OpenLineage HTTP endpoint that also receives the run events (e.g. Marquez, "
        "http://127.0.0.1:5000); they always go to <home>/lineage/openlineage.jsonl.",
    )
    # Privacy policy of what is published (issue 15): the marts' YAML by default (docs/privacy.md).
    privacy_policy: Path | None = Field(
        default=None,
        description="A YAML privacy policy to measure the published data with instead of the marts' own "
        "(models with config.meta.privacy, optional min_k): to try a stricter or looser policy.",
    )

    # Master key of the vault: COFRE_VAULT_KEY (taken out of the process environment at the edge, so no
    # child inherits it), else the 0600 file COFRE_VAULT_KEY_FILE, else the per-user key file of this
    # state directory under config_home, never inside the state directory (security/state.py).
    vault_key: SecretStr | None = None
    vault_key_file: Path | None = Field(
        default=None, description="The vault's key file (default: per user, outside the state directory)."
    )
    config_home: Path = Field(
        default_factory=lambda: default_config_home(os.environ),
        description="Where the per-user key files and state anchors live (default: $XDG_CONFIG_HOME or "
        "~/.config).",
    )

    @field_validator(
        "home", "olist_dir", "pg_reader_password_file", "vault_key_file", "config_home", "privacy_policy"
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("pg_sslrootcert")
    @classmethod
    def _absolute_ca(cls, value: str | None) -> str | None:
        if not value or value == "system":
            return value or None
        return str(Path(value).expanduser().resolve())

    # Derived locations: one place decides the layout of the state directory.
    @property
    def lake_dir(self) -> Path:
        return self.home / "lake"

    @property
    def lake_location(self) -> str:
        """The lake's root URL: `lake_url`, or the local folder under the state directory."""
        return self.lake_url.rstrip("/") if self.lake_url else self.lake_dir.as_uri()

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "cofre.duckdb"

    @property
    def published_path(self) -> Path:
        """The published marts, opened read-only by readers; never the pipeline's own file (one writer per
        DuckDB file). Its name must differ from the `marts` schema, or DuckDB finds `marts.x` ambiguous."""
        return self.home / "warehouse" / "published" / "cofre_marts.duckdb"

    @property
    def published_ops_path(self) -> Path:
        """Operational tables (runs, audit mirror, audit checks) for readers, republished after every run,
        failed ones included, so the ops page never waits for a successful publish of the marts."""
        return self.published_path.with_name("cofre_ops.duckdb")

    @property
    def generated_dir(self) -> Path:
        return self.home / "generated" / f"olist_sf{self.scale:g}_seed{self.seed}"

    @property
    def input_dir(self) -> Path:
        """Where the Olist CSV files are read from: the user's folder or the generated one."""
        return self.olist_dir if self.olist_dir is not None else self.generated_dir

    @property
    def dlt_dir(self) -> Path:
        return self.home / "dlt"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def vault_path(self) -> Path:
        return self.home / VAULT_FILE

    @property
    def audit_path(self) -> Path:
        return self.home / AUDIT_FILE

    @property
    def runs_dir(self) -> Path:
        return self.home / "runs"

    @property
    def tmp_dir(self) -> Path:
        """Scratch space of running processes, each under a name carrying its pid, so that what a killed
        run leaves is found and removed at the next start (orchestration.leftovers)."""
        return self.home / "tmp"

    @property
    def spark_local_dir(self) -> Path:
        """Spark's scratch space (`spark.local.dir`: shuffle and block-manager files) for the Spark this
        process starts: under the state directory, never /tmp, named by this process's pid."""
        return self.tmp_dir / f"spark-{os.getpid()}"
