"""The one place where cofre prepares its own process for the libraries it imports.

dlt, Airflow and dbt read settings from the process environment when they are imported (telemetry, where
Airflow keeps its home, whether dlt asks Airflow for secrets). Every entry point (the CLI, an Airflow
task, `cofre airflow ...`) calls `prepare_process` before importing them, so they all see the same
environment. Secrets never go through here: children get theirs from `security` only.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from orchestration.settings import Settings
from security.child_env import MASTER_KEY_VARIABLE, forget_master_key
from security.state import restrict_umask

DAGS_DIR = Path(__file__).resolve().parent / "airflow" / "dags"
SECRETS_BACKEND = "security.airflow_backend.CofreVaultSecretsBackend"

LIBRARY_ENVIRONMENT = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "DO_NOT_TRACK": "1",
    # dlt would otherwise look up Airflow Variables (and need Airflow's database) for every config
    # value; cofre's credentials come from its own vault.
    "PROVIDERS__ENABLE_AIRFLOW_SECRETS": "false",
}
"""What third-party libraries read at import time, the same for every cofre process."""

NOISY_LOGGERS = ("dlt",)
"""Libraries that print to stderr themselves: their records go to the log file with everything else."""


def take_master_key() -> str | None:
    """At a process's edge: make every file it creates private (umask 077) and take COFRE_VAULT_KEY out of
    its environment, so that no child a library starts with the inherited environment (pyspark's JVM,
    Airflow's task runner, Cosmos's dbt) ever holds the vault's master key. The caller keeps the value
    for its Settings; children get only the secrets they need (security.child_env)."""
    restrict_umask()
    key = os.environ.get(MASTER_KEY_VARIABLE) or None
    forget_master_key(os.environ)
    return key


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Variables every Airflow component (scheduler, API server, DAG processor, workers) needs:
    AIRFLOW_HOME inside the state directory, the DAGs folder of this repository, no example DAGs, the
    Cosmos cache in the state directory, and the cofre vault as Airflow's secrets backend (its key
    file's location only: no key or credential is written to Airflow's configuration or database)."""
    home = settings.home / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__COSMOS__CACHE_DIR": str(home / "cosmos"),
        "AIRFLOW__SECRETS__BACKEND": SECRETS_BACKEND,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps(
            {
                "state_dir": str(settings.home),
                "config_home": str(settings.config_home),
                **({"key_file": str(settings.vault_key_file)} if settings.vault_key_file else {}),
            }
        ),
        "COFRE_HOME": str(settings.home),
        "COFRE_TARGET": settings.target,
        **LIBRARY_ENVIRONMENT,
    }


def prepare_process(settings: Settings, *, for_airflow: bool = False, log_file: bool = True) -> None:
    """Set what third-party libraries read from the environment, before they are imported, and send the
    log to `<home>/logs/cofre.log`.

    for_airflow: this process runs Airflow components (`cofre airflow ...`): every variable of
    `airflow_environment` is set, overriding. Otherwise only unset ones are filled in, so a process
    Airflow started (a task) keeps the AIRFLOW_HOME it was given; dlt imports Airflow when it is
    installed, so even the CLI needs an AIRFLOW_HOME inside the state directory.
    log_file: False under Airflow, which captures each task's log itself.
    """
    settings.home.mkdir(mode=0o700, parents=True, exist_ok=True)  # raw data holds personal data
    wanted = (
        airflow_environment(settings)
        if for_airflow
        else {
            "AIRFLOW_HOME": str(settings.home / "airflow"),
            **LIBRARY_ENVIRONMENT,
        }
    )
    for name, value in wanted.items():
        if for_airflow:
            os.environ[name] = value
        else:
            os.environ.setdefault(name, value)
    if not log_file:
        return
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(settings.logs_dir / "cofre.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    logging.captureWarnings(True)  # library warnings (pyspark's pandas notice) into the log, not the terminal
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.propagate = False
