"""docker-compose.yml cannot be started here (no Docker engine): check, by parsing it and the files it
uses, the properties the stack must keep. The scripts the stack runs (the secret check, the TLS and
database set-up) do run here, on this machine's sh, openssl, keytool and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tomllib
import uuid
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import yaml

from orchestration.gold.spark import HADOOP_AWS_PACKAGE
from tests.conftest import PG_HOST, PG_PORT, PG_USER

ROOT = Path(__file__).parents[1]
COMPOSE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
CHECK_SECRETS = ROOT / "docker" / "check-secrets.sh"
COFRE_DOCKERFILE = ROOT / "docker" / "cofre" / "Dockerfile"
SPARK_DOCKERFILE = ROOT / "docker" / "spark" / "Dockerfile"

ONE_SHOTS = {"stack-check", "tls-init", "minio-init", "cofre-init", "airflow-init"}
AIRFLOW_COMMANDS = {
    "airflow-apiserver": ["airflow", "api-server"],
    "airflow-scheduler": ["airflow", "scheduler"],
    "airflow-dag-processor": ["airflow", "dag-processor"],
    "airflow-triggerer": ["airflow", "triggerer"],
    "airflow-worker": ["airflow", "celery", "worker"],
}
LONG_RUNNING = {
    "postgres",
    "minio",
    "redis",
    *AIRFLOW_COMMANDS,
    "spark-master",
    "spark-worker",
    "grafana",
    "streamlit",
}
VAULT_KEY_SECRET = "/run/secrets/cofre_vault_key"
SECRET_NAME = re.compile(r"(PASSWORD|_SECRET|_KEY|TOKEN|_AUTH|SQL_ALCHEMY_CONN|BROKER_URL|RESULT_BACKEND)$")


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def env_example() -> dict[str, str]:
    """The uncommented KEY=value lines of .env.example."""
    pairs = (line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"[A-Z]", line))
    return {key: value for key, value in pairs}


def compose_variables() -> set[str]:
    """Every ${VAR...} the compose file interpolates ($${VAR} is a literal for the container's shell)."""
    text = "\n".join(line for line in COMPOSE.read_text().splitlines() if not line.lstrip().startswith("#"))
    return set(re.findall(r"(?<!\$)\$\{([A-Z0-9_]+)", text))


def environment(service: dict[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_every_part_of_the_stack_is_a_service() -> None:
    assert set(services()) == LONG_RUNNING | ONE_SHOTS


def _pinned(image: str) -> bool:
    name, _, tag = image.rpartition(":")
    return (
        bool(name)
        and "/" not in tag
        and tag not in {"latest", "main", "stable"}
        and bool(re.search(r"\d", tag))
    )


def test_every_image_is_pinned() -> None:
    for name, service in services().items():
        image = service["image"]
        assert _pinned(image), f"{name}: image {image} is not pinned to a version"
    for dockerfile in (COFRE_DOCKERFILE, SPARK_DOCKERFILE):
        for base in re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(), flags=re.M):
            assert _pinned(base), f"{dockerfile}: base image {base} is not pinned"


def test_long_running_services_have_health_checks_and_one_shots_do_not_restart() -> None:
    for name, service in services().items():
        if name in ONE_SHOTS:
            assert service.get("restart", "no") == "no", f"{name}: a one-shot must not restart"
            continue
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] in {"CMD", "CMD-SHELL"}, f"{name}: no health check"
        assert service.get("restart") == "unless-stopped", name


def test_dependencies_wait_for_health_or_completion() -> None:
    all_services = services()
    for name, service in all_services.items():
        depends = service.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must name a condition for each service"
        for target, rule in depends.items():
            assert target in all_services, f"{name} depends on unknown {target}"
            wanted = "service_completed_successfully" if target in ONE_SHOTS else "service_healthy"
            assert rule == {"condition": wanted}, f"{name} -> {target}: {rule}"

    def upstream(name: str) -> set[str]:
        direct = set(all_services[name].get("depends_on", {}))
        return direct.union(*(upstream(d) for d in direct)) if direct else set()

    for name in all_services.keys() - {"stack-check"}:
        assert "stack-check" in upstream(name), f"{name} could start before the secrets are checked"
    for name in LONG_RUNNING & {
        s for s in all_services if s.startswith(("airflow-", "streamlit", "grafana"))
    }:
        assert "cofre-init" in upstream(name), f"{name} could start before the vault exists"


def test_ports_are_published_on_loopback_only() -> None:
    for name, service in services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} open beyond loopback"


def test_no_secret_is_written_in_the_compose_file_or_the_images() -> None:
    text = COMPOSE.read_text()
    # A variable that looks like a credential must be required (${VAR:?...}), never defaulted.
    for name, rest in re.findall(
        r"(?<!\$)\$\{([A-Z0-9_]*(?:PASSWORD|USER|SECRET|KEY)[A-Z0-9_]*)([^}]*)\}", text
    ):
        assert rest.startswith(":?"), f"{name} must be required with :? (found {rest!r})"
    for name, service in services().items():
        for key, value in environment(service).items():
            assert key != "COFRE_VAULT_KEY", f"{name}: the vault key goes in a Docker secret file"
            if SECRET_NAME.search(key) and key != "AIRFLOW__SECRETS__BACKEND":
                literal = re.sub(r"\$\{COFRE_STACK_[A-Z0-9_]+:\?[^}]*\}", "", value)
                assert "${COFRE_STACK_" in value or value.startswith(("/", "{")), f"{name}: {key}={value}"
                assert not re.search(r"://[^:/@]*:[^$@/]+@", literal), f"{name}: {key} has a literal password"
        command = " ".join(map(str, service.get("command") or []))
        assert not re.search(r"--requirepass\s+(?!\$\{)", command), name
    for dockerfile in (COFRE_DOCKERFILE, SPARK_DOCKERFILE):
        for line in dockerfile.read_text().splitlines():
            if line.startswith(("ENV", "ARG")):
                assert not re.search(r"PASSWORD|SECRET|TOKEN|VAULT_KEY=", line), f"{dockerfile}: {line}"


def test_vault_key_and_reader_password_are_docker_secret_files() -> None:
    stack = compose()
    assert {name: s["file"] for name, s in stack["secrets"].items()} == {
        "cofre_vault_key": "./secrets/cofre_vault_key",
        "pg_reader_password": "./secrets/pg_reader_password",
    }
    cofre_services = {n for n, s in services().items() if s["image"].startswith("cofre/cofre:")}
    assert cofre_services >= {"cofre-init", "streamlit", *AIRFLOW_COMMANDS}
    # The dashboard holds no vault: only the read-only role's password, as Grafana does.
    streamlit = services()["streamlit"]
    assert streamlit["secrets"] == ["pg_reader_password"]
    assert not any(v.startswith("state:") for v in streamlit["volumes"])
    assert "COFRE_VAULT_KEY_FILE" not in environment(streamlit)
    assert environment(streamlit)["COFRE_PG_READER_PASSWORD_FILE"] == "/run/secrets/pg_reader_password"
    for name in cofre_services - {"tls-init", "streamlit"}:
        service = services()[name]
        assert environment(service)["COFRE_VAULT_KEY_FILE"] == VAULT_KEY_SECRET, name
        assert "cofre_vault_key" in service["secrets"], name
        assert "state:/state" in service["volumes"], f"{name}: the vault lives on the state volume"
    entrypoint = (ROOT / "docker" / "cofre" / "entrypoint.sh").read_text()
    assert 'COFRE_VAULT_KEY=$(cat "$COFRE_VAULT_KEY_FILE")' in entrypoint
    kwargs = json.loads(environment(services()["airflow-worker"])["AIRFLOW__SECRETS__BACKEND_KWARGS"])
    assert kwargs == {
        "vault_path": "/state/vault/vault.json",
        "key_file": VAULT_KEY_SECRET,
        "audit_path": "/state/audit/audit.jsonl",
    }
    assert "pg_reader_password" in services()["grafana"]["secrets"]


def test_secret_files_and_env_are_never_committed() -> None:
    ignored = {line.strip() for line in (ROOT / ".gitignore").read_text().splitlines()}
    assert {".env", "secrets/"} <= ignored


def test_durable_data_lives_on_named_volumes() -> None:
    declared = set(compose()["volumes"])
    mounts = {
        "postgres": "pgdata:/var/lib/postgresql/data",
        "minio": "lake:/data",
        "redis": "redisdata:/data",
        "grafana": "grafana-data:/var/lib/grafana",
        "airflow-worker": "airflow-logs:/opt/airflow/logs",
        "cofre-init": "state:/state",
    }
    for name, mount in mounts.items():
        assert mount in services()[name]["volumes"], f"{name}: {mount}"
        assert mount.split(":")[0] in declared


def test_env_example_documents_every_variable_of_the_compose_file() -> None:
    documented = env_example()
    assert compose_variables() - documented.keys() == set()
    stack_variables = {k for k in documented if k.startswith("COFRE_STACK_")}
    assert stack_variables - compose_variables() == set(), "documented but unused by docker-compose.yml"
    checked = set(environment(services()["stack-check"]))
    assert checked == stack_variables, "stack-check must see every COFRE_STACK_* variable"


def _check(env: dict[str, str], files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(CHECK_SECRETS), *map(str, files)],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def _real_values() -> dict[str, str]:
    return {
        key: "cofre-lake" if key.endswith("_BUCKET") else secrets.token_hex(24)
        for key in env_example()
        if key.startswith("COFRE_STACK_")
    }


def test_the_stack_refuses_the_example_values(tmp_path: Path) -> None:
    example = {k: v for k, v in env_example().items() if k.startswith("COFRE_STACK_")}
    placeholders = {k for k, v in example.items() if v.startswith("change-me")}
    assert placeholders == example.keys() - {"COFRE_STACK_LAKE_BUCKET"}, "every secret needs a placeholder"
    key_file, reader_file = tmp_path / "cofre_vault_key", tmp_path / "pg_reader_password"
    key_file.write_text("change-me-vault-key-from-docs\n")
    reader_file.write_text("change-me-reader-password\n")

    refused = _check(example, [key_file, reader_file])
    assert refused.returncode == 1
    for name in placeholders:
        assert f"{name} still holds the example value" in refused.stderr
    assert f"{key_file} still holds an example value" in refused.stderr
    assert "change-me-" not in refused.stderr.replace("still holds the example value", "")

    key_file.write_text(secrets.token_urlsafe(32))
    reader_file.write_text(secrets.token_hex(24) + "\n")
    accepted = _check(_real_values(), [key_file, reader_file])
    assert accepted.returncode == 0, accepted.stderr

    weak = _check({**_real_values(), "COFRE_STACK_REDIS_PASSWORD": "short"}, [key_file])
    assert weak.returncode == 1 and "COFRE_STACK_REDIS_PASSWORD is shorter" in weak.stderr
    breaking = f"{secrets.token_hex(8)}@/:{secrets.token_hex(8)}"
    url_breaking = _check({**_real_values(), "COFRE_STACK_PG_PASSWORD": breaking}, [])
    assert url_breaking.returncode == 1 and "break connection URLs" in url_breaking.stderr
    assert breaking[:16] not in url_breaking.stderr, "the check must never print a value"
    missing = _check(_real_values(), [tmp_path / "absent"])
    assert missing.returncode == 1 and "missing or empty" in missing.stderr


def test_airflow_runs_the_celery_executor_on_redis_with_the_cofre_vault() -> None:
    all_services = services()
    for name, command in AIRFLOW_COMMANDS.items():
        assert all_services[name]["command"] == command, name
    init = (ROOT / "docker" / "cofre" / "airflow-init.sh").read_text()
    assert all_services["airflow-init"]["command"] == ["airflow-init.sh"] and "airflow db migrate" in init
    for name in [*AIRFLOW_COMMANDS, "airflow-init"]:
        env = environment(all_services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert re.fullmatch(
            r"redis://:\$\{COFRE_STACK_REDIS_PASSWORD:\?[^}]+\}@redis:6379/0",
            env["AIRFLOW__CELERY__BROKER_URL"],
        )
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://airflow:")
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].endswith("@postgres:5432/airflow?sslmode=require")
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
        assert env["AIRFLOW__SECRETS__BACKEND"] == "security.airflow_backend.CofreVaultSecretsBackend"
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/cofre/orchestration/airflow/dags"
    assert "class CofreVaultSecretsBackend" in (ROOT / "security" / "airflow_backend.py").read_text()
    assert (ROOT / "orchestration" / "airflow" / "dags" / "cofre_elt.py").exists()
    assert "WORKDIR /opt/cofre" in COFRE_DOCKERFILE.read_text()


def test_airflow_options_exist_in_the_installed_airflow() -> None:
    """Every AIRFLOW__SECTION__KEY names an option of the pinned Airflow (or of the provider that adds
    its section), so a typo cannot silently fall back to a default."""
    import airflow

    config = yaml.safe_load((Path(airflow.__file__).parent / "config_templates" / "config.yml").read_text())
    provider_sections = {"celery": "apache-airflow-providers-celery", "cosmos": "astronomer-cosmos"}
    env = environment(services()["airflow-worker"])
    for key in (k for k in env if k.startswith("AIRFLOW__")):
        section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
        if section in provider_sections:
            continue
        assert option in config[section]["options"], f"{key}: no [{section}] {option} in Airflow"
    assert config["core"]["options"]["auth_manager"]["default"] == env["AIRFLOW__CORE__AUTH_MANAGER"]


def test_cofre_image_installs_the_locked_project_with_the_celery_provider() -> None:
    dockerfile = COFRE_DOCKERFILE.read_text()
    syncs = re.findall(r"uv sync ([^\n\\&]+)", dockerfile)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs), syncs
    extras = {e for s in syncs for e in re.findall(r"--extra (\S+)", s)}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    optional = pyproject["project"].get("optional-dependencies", {})
    for extra in extras:
        assert extra in optional, f"pyproject.toml has no [{extra}] extra for the cofre image"
    packages = " ".join(p for e in extras for p in optional[e])
    assert "apache-airflow-providers-celery" in packages, "CeleryExecutor needs the Celery provider"
    assert "asyncpg" in packages, "Airflow 3 on PostgreSQL also opens its metadata database with asyncpg"


JARS_LOCK = ROOT / "docker" / "spark" / "jars.lock"


def test_spark_image_carries_hadoop_aws_of_its_own_hadoop() -> None:
    """The Spark image installs the jars of docker/spark/jars.lock (checked by SHA-256): hadoop-aws of
    exactly the Hadoop of pyspark's own jars, and the AWS SDK v2 bundle it was built with."""
    dockerfile = SPARK_DOCKERFILE.read_text()
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", dockerfile, flags=re.M))
    (base,) = re.findall(r"^FROM apache/spark:(\d+\.\d+\.\d+)-", dockerfile, flags=re.M)
    assert base == version("pyspark"), "the cluster must run the Spark version of the driver's pyspark"
    import pyspark

    jars = Path(pyspark.__file__).parent / "jars"
    (hadoop_jar,) = jars.glob("hadoop-client-api-*.jar")
    hadoop = hadoop_jar.name.removeprefix("hadoop-client-api-").removesuffix(".jar")
    assert args["HADOOP_VERSION"] == hadoop == HADOOP_AWS_PACKAGE.rsplit(":", 1)[1]
    lock = dict(
        line.split()
        for line in JARS_LOCK.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert len(lock) == 3 and all(re.fullmatch(r"[0-9a-f]{64}", d) for d in lock.values()), lock
    names = {path.rsplit("/", 1)[-1] for path in lock}
    assert f"hadoop-aws-{hadoop}.jar" in names
    assert any(re.fullmatch(r"bundle-2\.\d+\.\d+\.jar", n) for n in names), "hadoop-aws 3.4+ uses AWS SDK v2"
    assert any(n.startswith("analyticsaccelerator-s3-") for n in names)
    assert (
        "COPY jars.lock fetch_jars.py" in dockerfile
        and "python3 /tmp/cofre-jars/fetch_jars.py /tmp/cofre-jars/jars.lock /opt/spark/jars" in dockerfile
    )
    assert "hadoop-client-api-${HADOOP_VERSION}.jar" in dockerfile, "the build checks the image's Hadoop"
    assert services()["spark-worker"]["command"][-1] == "spark://spark-master:7077"


def test_the_gold_step_submits_to_the_cluster_with_the_same_s3a_jars() -> None:
    """COFRE_SPARK_MASTER points the gold step at the cluster; its driver (in the cofre image) carries the
    very S3A jars of the Spark image (one list: jars.lock, also `make install`'s), and the executors get
    the lake's key pair from the worker's env."""
    cofre_dockerfile = (ROOT / "docker/cofre/Dockerfile").read_text()
    assert "COPY docker/spark/jars.lock docker/spark/fetch_jars.py" in cofre_dockerfile
    assert "site-packages/pyspark/jars" in cofre_dockerfile
    assert "fetch_jars.py $(JARS_LOCK)" in (ROOT / "Makefile").read_text()
    assert "JARS_LOCK := docker/spark/jars.lock" in (ROOT / "Makefile").read_text()
    assert environment(services()["airflow-worker"])["COFRE_SPARK_MASTER"] == "spark://spark-master:7077"
    worker = environment(services()["spark-worker"])
    assert worker["AWS_ACCESS_KEY_ID"].startswith("${COFRE_STACK_MINIO_USER:?")
    assert worker["AWS_SECRET_ACCESS_KEY"].startswith("${COFRE_STACK_MINIO_PASSWORD:?")


def test_grafana_gets_its_provisioning_and_the_reader_datasource() -> None:
    grafana = services()["grafana"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    provider = yaml.safe_load((ROOT / "grafana/provisioning/dashboards/cofre.yaml").read_text())
    (path,) = [p["options"]["path"] for p in provider["providers"]]
    assert f"./grafana/dashboards:{path}:ro" in grafana["volumes"]
    datasource = yaml.safe_load((ROOT / "grafana/provisioning/datasources/cofre.yaml").read_text())
    (source,) = datasource["datasources"]
    secret = re.fullmatch(r"\$__file\{/run/secrets/(\w+)\}", source["secureJsonData"]["password"])
    assert secret and secret[1] in grafana["secrets"]
    postgres_env = environment(services()["postgres"])
    assert source["url"] == "postgres:5432" and source["jsonData"]["database"] == postgres_env["POSTGRES_DB"]
    assert source["user"] == environment(services()["streamlit"])["COFRE_PG_READER_USER"]
    assert environment(grafana)["GF_AUTH_ANONYMOUS_ENABLED"] == "false"


def test_streamlit_serves_the_dashboard_app_of_this_repository() -> None:
    streamlit = services()["streamlit"]
    # All interfaces of the container; the host publishes the port on loopback only (next line).
    assert streamlit["command"] == ["cofre", "dashboard", "--address", "0.0.0.0", "--port", "8501"]  # noqa: S104
    assert streamlit["ports"] == ["127.0.0.1:8501:8501"]
    assert (ROOT / "dashboard" / "app.py").exists()
    assert environment(streamlit)["COFRE_TARGET"] == "postgres"


def test_servers_speak_tls_because_cofre_refuses_plain_connections_beyond_loopback() -> None:
    cofre_env = environment(services()["cofre-init"])
    assert cofre_env["COFRE_S3_ENDPOINT_URL"].startswith("https://minio:")
    assert "ssl=on" in services()["postgres"]["command"]
    assert services()["minio"]["command"][-2:] == ["--certs-dir", "/tls/minio"]
    for key in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE"):
        assert cofre_env[key] == "/tls/ca-bundle.pem"


# -- the set-up scripts, run here -------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.skipif(os.geteuid() != 0, reason="gives the key to the postgres image's uid: needs root (CI is)")
def test_tls_init_makes_certificates_the_clients_can_verify(tmp_path: Path) -> None:
    assert shutil.which("keytool"), "keytool (Java 17's JRE, which Spark needs too) is not on PATH"
    out = tmp_path / "tls"
    script = ROOT / "docker" / "tls" / "make-certs.sh"
    made = subprocess.run(
        ["sh", str(script), str(out)], capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stderr
    for server in ("postgres/server.crt", "minio/public.crt"):
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(out / "ca.crt"), str(out / server)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert verified.returncode == 0, verified.stdout + verified.stderr
    assert (out / "postgres" / "server.key").stat().st_uid == 999  # the postgres image's user
    assert oct((out / "postgres" / "server.key").stat().st_mode & 0o777) == "0o600"
    assert (out / "ca.crt").read_text() in (out / "ca-bundle.pem").read_text()
    assert not list(out.rglob("ca.key")), "the CA's private key must not be kept"
    again = subprocess.run(["sh", str(script), str(out)], capture_output=True, text=True, check=False)
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.integration
def test_postgres_init_creates_airflows_database_and_owner() -> None:
    assert shutil.which("psql"), "psql (PostgreSQL's client, beside the server the tests use) is not on PATH"
    import psycopg2

    name = f"airflow_test_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "AIRFLOW_DB_PASSWORD": secrets.token_hex(20),
        "AIRFLOW_DB_USER": name,
        "AIRFLOW_DB_NAME": name,
        "POSTGRES_USER": PG_USER,
        "POSTGRES_DB": "postgres",
        "PGHOST": PG_HOST,
        "PGPORT": str(PG_PORT),
    }
    script = ROOT / "docker" / "postgres" / "init-databases.sh"
    admin = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
    admin.autocommit = True
    try:
        done = subprocess.run(
            ["sh", str(script)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        assert env["AIRFLOW_DB_PASSWORD"] not in done.stdout + done.stderr
        with admin.cursor() as cursor:
            cursor.execute(
                "select rolcanlogin, rolpassword like 'SCRAM-SHA-256$%%', rolsuper "
                "from pg_authid where rolname = %s",
                (name,),
            )
            assert cursor.fetchone() == (True, True, False)
            cursor.execute("select pg_get_userbyid(datdba) from pg_database where datname = %s", (name,))
            assert cursor.fetchone() == (name,)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}"')
            cursor.execute(f'drop role if exists "{name}"')
        admin.close()


def _stack_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a cofre container of the stack, pointed at a temporary state directory."""
    bin_dir = Path(sys.executable).parent
    return {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "COFRE_HOME": str(tmp_path / "state"),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "DO_NOT_TRACK": "1",
        **extra,
    }


def test_entrypoint_hands_the_vault_key_file_to_cofre(tmp_path: Path) -> None:
    entrypoint = ROOT / "docker" / "cofre" / "entrypoint.sh"
    key_file = tmp_path / "cofre_vault_key"
    key_file.write_text("a-key-from-a-docker-secret")
    env = _stack_env(tmp_path, COFRE_VAULT_KEY_FILE=str(key_file))
    shown = subprocess.run(
        ["sh", str(entrypoint), "sh", "-c", 'printf %s "$COFRE_VAULT_KEY"'],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0 and shown.stdout == "a-key-from-a-docker-secret"
    env["COFRE_VAULT_KEY_FILE"] = str(tmp_path / "absent")
    refused = subprocess.run(["sh", str(entrypoint), "true"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1 and "cannot read the vault key" in refused.stderr


@pytest.mark.integration
def test_cofre_init_seals_the_vault_with_the_secret_key_and_stores_the_stack_credentials(
    tmp_path: Path,
) -> None:
    """docker/cofre/init-state.sh through the image's entrypoint, as `cofre-init` runs it: the vault is
    sealed with the key of the Docker secret file (no key file is written next to it), it holds the
    stack's credentials, and the Airflow manifest is built. A second run (a restarted stack) succeeds."""
    key_file, reader_file = tmp_path / "cofre_vault_key", tmp_path / "pg_reader_password"
    key_file.write_text(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")
    key_file.chmod(0o600)
    reader_password = secrets.token_hex(24)
    reader_file.write_text(reader_password + "\n")
    stack = {
        "COFRE_STACK_PG_PASSWORD": secrets.token_hex(24),
        "COFRE_STACK_MINIO_USER": secrets.token_hex(10),
        "COFRE_STACK_MINIO_PASSWORD": secrets.token_hex(24),
    }
    env = _stack_env(
        tmp_path,
        COFRE_TARGET="postgres",
        COFRE_VAULT_KEY_FILE=str(key_file),
        PG_READER_PASSWORD_FILE=str(reader_file),
        **stack,
    )
    command = ["sh", str(ROOT / "docker/cofre/entrypoint.sh"), "sh", str(ROOT / "docker/cofre/init-state.sh")]
    for _ in range(2):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        for value in [*stack.values(), reader_password]:
            assert value not in done.stdout + done.stderr

    def vault_get(name: str) -> str:
        got = subprocess.run(
            ["sh", str(ROOT / "docker/cofre/entrypoint.sh"), "cofre", "vault", "get", name],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert got.returncode == 0, got.stderr
        return got.stdout

    assert vault_get("pg_reader_password") == reader_password
    assert vault_get("pg_password") == stack["COFRE_STACK_PG_PASSWORD"]
    assert vault_get("lake_access_key") == stack["COFRE_STACK_MINIO_USER"]
    assert vault_get("lake_secret_key") == stack["COFRE_STACK_MINIO_PASSWORD"]
    state = tmp_path / "state"
    assert not (state / "vault" / "vault.key").exists(), "the key must stay in the secret file"
    assert (state / "dbt" / "airflow" / "manifest.json").exists()


@pytest.mark.integration
def test_airflow_init_migrates_the_database_and_sets_the_admin_password(tmp_path: Path) -> None:
    """docker/cofre/airflow-init.sh with the stack's executor, on a SQLite metadata database: the stack's
    PostgreSQL one also needs Airflow's async driver (asyncpg, in the image's `stack` extra), which this
    machine's environment does not have."""
    passwords = tmp_path / "auth" / "passwords.json"
    admin_password = secrets.token_hex(16)
    env = _stack_env(
        tmp_path,
        AIRFLOW__CORE__EXECUTOR=environment(services()["airflow-init"])["AIRFLOW__CORE__EXECUTOR"],
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp_path / 'airflow.db'}",
        AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(passwords),
        COFRE_STACK_AIRFLOW_ADMIN_PASSWORD=admin_password,
    )
    script = ROOT / "docker" / "cofre" / "airflow-init.sh"
    done = subprocess.run(
        ["sh", str(script)], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert json.loads(passwords.read_text()) == {"admin": admin_password}
    assert passwords.stat().st_mode & 0o077 == 0, "the passwords file must be private"
    assert admin_password not in done.stdout + done.stderr
