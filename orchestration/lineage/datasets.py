"""OpenLineage dataset names of cofre's files, lake and warehouse, and what each Spark job reads and
writes (from the jobs' own code)."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.settings import Settings

SPARK_JOBS_DIR = Path(__file__).resolve().parents[2] / "spark_jobs"
LAKE_IPCA_SOURCE = ("staging", "stg_bcb__ipca")
"""The warehouse relation exported to the lake as silver/ipca (orchestration/gold/silver_export.py)."""

Dataset = tuple[str, str]
"""(namespace, name) of an OpenLineage dataset."""


# ---------------------------------------------------------------- what the Spark jobs read and write


@dataclasses.dataclass(frozen=True)
class SparkJobIO:
    job: str
    reads: tuple[str, ...]
    """Lake silver tables (`read_silver(spark, silver_uri, "<table>")`), directly or through helpers."""
    writes: tuple[str, ...]
    """Gold tables (`write_gold(df, gold_uri, <TABLE>)`)."""


def _constants(tree: ast.Module) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and isinstance(node.value, ast.Constant):
                found[target.id] = str(node.value.value)
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for name, value in zip(target.elts, node.value.elts, strict=False):
                    if isinstance(name, ast.Name) and isinstance(value, ast.Constant):
                        found[name.id] = str(value.value)
    return found


def spark_job_io(jobs: Iterable[str], jobs_dir: Path = SPARK_JOBS_DIR) -> dict[str, SparkJobIO]:
    """Each job's silver inputs and gold outputs, read from its code: the `read_silver` calls of `run` and
    of every function it calls (in its module or imported from another job module), and the tables it
    passes to `write_gold`."""
    modules: dict[str, ast.Module] = {}

    def module(name: str) -> ast.Module:
        if name not in modules:
            modules[name] = ast.parse((jobs_dir / f"{name}.py").read_text(encoding="utf-8"))
        return modules[name]

    def functions(name: str) -> dict[str, ast.FunctionDef]:
        return {n.name: n for n in module(name).body if isinstance(n, ast.FunctionDef)}

    def imported(name: str) -> dict[str, str]:
        found = {}
        for node in module(name).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("spark_jobs."):
                for alias in node.names:
                    found[alias.asname or alias.name] = node.module.split(".", 1)[1]  # type: ignore[union-attr]
        return found

    def calls(name: str, function: str, seen: set[tuple[str, str]]) -> tuple[set[str], set[str]]:
        if (name, function) in seen or function not in functions(name):
            return set(), set()
        seen.add((name, function))
        constants, reads, writes = _constants(module(name)), set(), set()
        for node in ast.walk(functions(name)[function]):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            callee, args = node.func.id, node.args
            if callee == "read_silver" and len(args) >= 3 and isinstance(args[2], ast.Constant):
                reads.add(str(args[2].value))
            elif callee == "write_gold" and len(args) >= 3:
                arg = args[2]
                if isinstance(arg, ast.Constant):
                    writes.add(str(arg.value))
                elif isinstance(arg, ast.Name) and arg.id in constants:
                    writes.add(constants[arg.id])
            elif callee in functions(name):
                more = calls(name, callee, seen)
                reads |= more[0]
                writes |= more[1]
            elif callee in imported(name) and imported(name)[callee] != "_common":
                more = calls(imported(name)[callee], callee, seen)
                reads |= more[0]
                writes |= more[1]
        return reads, writes

    result = {}
    for job in jobs:
        reads, writes = calls(job, "run", set())
        result[job] = SparkJobIO(job, tuple(sorted(reads)), tuple(sorted(writes)))
    return result


# ---------------------------------------------------------------- dataset names


def path_dataset(url_or_path: str, *parts: str) -> Dataset:
    """A file or lake location: (`file`, absolute path) or (`s3://bucket`, key)."""
    if url_or_path.startswith("s3://"):
        split = urlsplit(url_or_path)
        key = "/".join(p for p in (split.path.strip("/"), *parts) if p)
        return f"s3://{split.netloc}", key
    path = urlsplit(url_or_path).path if url_or_path.startswith("file://") else url_or_path
    return "file", "/".join([path.rstrip("/"), *parts])


def lake_dataset(settings: Settings, layer: str, *parts: str) -> Dataset:
    return path_dataset(settings.lake_location, layer, *parts)


def warehouse_namespace(settings: Settings) -> str:
    if settings.target == "postgres":
        return f"postgres://{settings.pg_host}:{settings.pg_port}"
    return f"duckdb://{settings.warehouse_path}"


def warehouse_database(settings: Settings) -> str:
    return settings.pg_database if settings.target == "postgres" else settings.warehouse_path.stem


def table_dataset(settings: Settings, schema: str, table: str) -> Dataset:
    return warehouse_namespace(settings), f"{warehouse_database(settings)}.{schema}.{table}".lower()


def published_dataset(settings: Settings, qualified: str) -> Dataset:
    """A published table (`marts.fct_orders`, `gold.sales_daily`): the published DuckDB file, or the
    PostgreSQL schemas the readers see."""
    if settings.target == "postgres":
        return table_dataset(settings, *qualified.split(".", 1))
    path = settings.published_path
    return f"duckdb://{path}", f"{path.stem}.{qualified}".lower()
