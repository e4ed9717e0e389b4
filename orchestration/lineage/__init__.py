"""OpenLineage run events for every step of a run: where each dataset came from, across dlt, dbt and Spark.

`observe(steps, settings)` wraps the steps a runner is about to run; each step then emits a START event
before it runs and a COMPLETE (or FAIL) event after, with the datasets it read and wrote, named as
OpenLineage names them, so Marquez or any OpenLineage consumer draws one graph:

    Olist files ──ingest_olist.bronze──> bronze (lake) ──ingest_olist.raw──> raw_olist.* (warehouse)
    raw ──dbt (one job per model)──> staging ──> silver ──export_silver──> silver (lake)
    silver (lake) ──spark.<job> (one per Spark job)──> gold (lake) ──load_gold──> gold (warehouse)
    silver + gold ──dbt──> marts ──publish_marts──> published marts and gold

Jobs live in the namespace `cofre`: the run (`cofre.run`) is the parent of each step (`cofre.<step>`), a
step the parent of its parts (`cofre.dbt.<model>`, `cofre.spark.<job>`, `cofre.<ingest step>.bronze|raw`).
Datasets: files `file` + path; the lake `file` + path, or `s3://bucket` + key; DuckDB
`duckdb://<file>` + `<database>.<schema>.<table>`; PostgreSQL `postgres://host:port` +
`<database>.<schema>.<table>` (the names OpenLineage's dbt integration gives, so consumers merge them).
The dbt parts are read from dbt's own artifacts (manifest.json and run_results.json of the step's run); the
Spark parts from the jobs' code (`spark_job_io`: their `read_silver` and `write_gold` calls), the same
declaration the dbt docs lineage is checked against.

Events go to `<home>/lineage/openlineage.jsonl` (one JSON event per line) and, when `Settings.lineage_url`
is set, to that HTTP endpoint (`/api/v1/lineage`). Lineage never fails a run: an event that cannot be
sent is logged, and a transport that failed is not tried again in that run. Events hold names, paths,
row counts and error messages, never a secret (no URL with credentials is ever a dataset name: the lake and
warehouse are named by host, path and table).
"""

from orchestration.lineage.datasets import spark_job_io
from orchestration.lineage.events import lineage_file, observe

__all__ = ["lineage_file", "observe", "spark_job_io"]
