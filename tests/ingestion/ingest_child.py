"""A real ingestion process for the crash tests: `python -m tests.ingestion.ingest_child HOME FOLDER ...`.

It runs the same library calls as the `ingest_olist` step (Olist folder -> bronze -> raw) into a state
directory of its own, and prints the load report as one JSON line, so a test can kill it with SIGKILL at a
chosen moment and then ingest again in another process.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dlt

from ingestion.lake import Lake
from ingestion.olist_source import ReadStats, olist_source
from ingestion.pipeline import LoadReport, ingest

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def destination(home: Path, target: str, pg_database: str | None) -> Any:
    if target == "postgres":
        return dlt.destinations.postgres(
            credentials={
                "host": PG_HOST,
                "port": PG_PORT,
                "username": PG_USER,
                "database": pg_database,
                "password": secrets.token_urlsafe(16),  # the test server trusts loopback
            }
        )
    (home / "warehouse").mkdir(parents=True, exist_ok=True)
    return dlt.destinations.duckdb(str(home / "warehouse" / "raw.duckdb"))


def run(
    home: Path,
    folder: Path,
    *,
    target: str = "duckdb",
    pg_database: str | None = None,
    incremental: bool = False,
) -> tuple[LoadReport, ReadStats]:
    stats = ReadStats()
    lake = Lake(home / "lake")
    report = ingest(
        olist_source(folder, stats, lake=lake if incremental else None),
        lake=lake,
        raw_destination=destination(home, target, pg_database),
        raw_dataset="raw_olist",
        pipelines_dir=home / "dlt",
        inputs=lambda: [asdict(f) for f in stats.files.values()],
    )
    return report, stats


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--target", default="duckdb")
    parser.add_argument("--pg-database")
    parser.add_argument("--incremental", action="store_true")
    args = parser.parse_args()
    print(f"pid {os.getpid()}", flush=True)
    report, _ = run(
        args.home, args.folder, target=args.target, pg_database=args.pg_database, incremental=args.incremental
    )
    print(json.dumps(asdict(report), default=str), flush=True)


if __name__ == "__main__":
    main()
