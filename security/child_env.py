"""The environment of a child process (dbt, Spark, Airflow, Streamlit): an allow-list, never a copy.

A child started with `{**os.environ, ...}` inherits everything the parent holds, the vault's master key
(`COFRE_VAULT_KEY`, the stack's way of giving it) included, and passes it on to its own children (Spark's
JVM, its Python workers). `child_environment(purpose, secrets=...)` builds the environment from:

1. the variables every child needs to run at all: PATH, HOME, USER, LANG/LC_*, TZ, TMPDIR, JAVA_HOME,
   the virtualenv and Python path, CA bundles, proxies without credentials, telemetry switches, and the
   non-secret COFRE_* settings (COFRE_HOME, COFRE_TARGET, ...);
2. the variables of the child's own tool: DBT_* for dbt, SPARK_*/PYSPARK_*/HADOOP_* for Spark,
   AIRFLOW_HOME/AIRFLOW__* for Airflow, STREAMLIT_* for Streamlit;
3. `settings`: non-secret variables the caller sets for this child (DBT_PROFILES_DIR, PYTHONPATH, ...);
4. `secrets`: exactly the secrets this child needs, by name (DBT_ENV_SECRET_MASKING_KEY, PGPASSWORD,
   AWS_SECRET_ACCESS_KEY, ...).

From 1 and 2, any variable whose name looks like a secret (PASSWORD, SECRET, TOKEN, KEY, CREDENTIAL,
FERNET, an Airflow connection) is dropped even if its prefix is allowed, and so is a URL holding
`user:password@`: a child gets a secret only by being given it in `secrets` (or, for a non-secret value
the caller vouches for, `settings`). The master key never passes: not by name (refused, even in
`secrets`) and not by value (a variable holding the master key is refused under any name).

`forget_master_key(os.environ)` is the other half: once the settings have read the key, the CLI removes it
from its own environment, so children that libraries start with the inherited environment (pyspark's JVM,
dlt, Airflow's task runner) never see it either.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping

from security.errors import ChildEnvironmentError

MASTER_KEY_VARIABLE = "COFRE_VAULT_KEY"

PURPOSES: dict[str, tuple[str, ...]] = {
    "dbt": ("DBT_",),
    "spark": ("SPARK_", "PYSPARK_", "HADOOP_"),
    "airflow": ("AIRFLOW_", "AIRFLOW__"),
    "streamlit": ("STREAMLIT_",),
    "python": (),
}
"""Purpose of a child -> the prefixes of its tool's own (non-secret) variables."""

BASE_VARIABLES = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TERM",
        "JAVA_HOME",
        "VIRTUAL_ENV",
        "PYTHONPATH",
        "PYTHONHASHSEED",
        "PYTHONUNBUFFERED",
        "PYTHONDONTWRITEBYTECODE",
        "PYTHONIOENCODING",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "PGSSLROOTCERT",
        "PGSSLMODE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "no_proxy",
        "DO_NOT_TRACK",
        "RUNTIME__DLTHUB_TELEMETRY",
        "PROVIDERS__ENABLE_AIRFLOW_SECRETS",
        "AIRFLOW_HOME",
        "XDG_CONFIG_HOME",
        "XDG_CACHE_HOME",
        "XDG_RUNTIME_DIR",
    }
)
BASE_PREFIXES = ("LC_", "COFRE_")

_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|CREDENTIAL|PRIVATE|FERNET|(^|_)KEY($|_)|APIKEY|ACCESS_KEY|"
    r"SQL_ALCHEMY_CONN|(^|_)CONN$|SESSION",
    re.IGNORECASE,
)
_NOT_A_SECRET_SUFFIXES = ("_FILE", "_DIR", "_PATH", "_HOME", "_PORT", "_USER")
_URL_NAME = re.compile(r"(_URL|_URI|_ENDPOINT|PROXY)$", re.IGNORECASE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def looks_secret(name: str) -> bool:
    """True for a variable name that may hold a secret (PGPASSWORD, AWS_SECRET_ACCESS_KEY, *_TOKEN, a
    connection URI), False for the paths and switches around them (COFRE_PG_READER_PASSWORD_FILE)."""
    if name.upper().endswith(_NOT_A_SECRET_SUFFIXES):
        return False
    return _SECRET_NAME.search(name) is not None


def _inherited(name: str, value: str, prefixes: tuple[str, ...]) -> bool:
    if name == MASTER_KEY_VARIABLE or name.startswith(MASTER_KEY_VARIABLE):
        return name == "COFRE_VAULT_KEY_FILE"  # a path, not the key
    if not (name in BASE_VARIABLES or name.startswith(BASE_PREFIXES + prefixes)):
        return False
    if _URL_NAME.search(name) and "@" in value:
        return False  # a URL with user:password@ carries a credential
    return not looks_secret(name)


def child_environment(
    purpose: str,
    *,
    secrets: Mapping[str, str] | None = None,
    settings: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The whole environment for a child process started for `purpose` (see PURPOSES).

    `environ` is the parent's environment to pick from (default: this process's). `settings` are
    non-secret variables for this child, `secrets` the secrets it needs; both override inherited values.
    Raises `ChildEnvironmentError` if the master key would reach the child, by name or by value.
    """
    if purpose not in PURPOSES:
        raise ValueError(f"unknown child purpose {purpose!r}; purposes are {', '.join(PURPOSES)}")
    parent = os.environ if environ is None else environ
    master = parent.get(MASTER_KEY_VARIABLE, "")
    env = {name: value for name, value in parent.items() if _inherited(name, value, PURPOSES[purpose])}
    for kind, given in (("settings", settings or {}), ("secrets", secrets or {})):
        for name, value in given.items():
            if not _NAME.fullmatch(name) or not isinstance(value, str) or "\0" in value:
                raise ChildEnvironmentError(f"{kind} variable {name!r} is not a valid environment variable.")
            if name == MASTER_KEY_VARIABLE:
                raise ChildEnvironmentError(
                    f"Refused to give {MASTER_KEY_VARIABLE} to a {purpose} child: no child process gets the "
                    "vault's master key. Resolve the secrets it needs and pass those by name instead."
                )
            env[name] = value
    if master:
        for name, value in env.items():
            if master in value:
                raise ChildEnvironmentError(
                    f"Refused to start a {purpose} child: its variable {name} holds the vault's master key. "
                    "No child process gets the master key; pass only the secrets it needs."
                )
    return env


def forget_master_key(environ: MutableMapping[str, str]) -> bool:
    """Remove the master key from `environ` (the process's own `os.environ`, once the settings hold it),
    so that no child started later with the inherited environment receives it. True if it was there."""
    return environ.pop(MASTER_KEY_VARIABLE, None) is not None
