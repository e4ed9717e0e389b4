"""`cofre privacy report`: the k-anonymity of the data readers see now (issue 15).

It measures the published marts (the published DuckDB file, or PostgreSQL's `marts` schema) with the
privacy policy (the marts' YAML, or `--policy FILE`), the same measurement as the gate that runs before
every publish: per table and quasi-identifier set, k, the records in groups below k, and what the
treatments generalised. Counts only, never a value.
"""

from __future__ import annotations

from contextlib import closing
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from orchestration.cli.errors import reporting_errors
from orchestration.cli.state import state_of

app = typer.Typer(
    help="Measure what is published: k-anonymity per quasi-identifier set of the privacy policy.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
stdout = Console(highlight=False, soft_wrap=True)


@app.command()
def report(
    ctx: typer.Context,
    target: Annotated[
        str | None,
        typer.Option("--target", help="Warehouse: duckdb (default) or postgres.", show_default=False),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Another privacy policy file (default: the marts' YAML).", show_default=False
        ),
    ] = None,
    plain: Annotated[bool, typer.Option("--plain", help="Tab-separated lines, no table drawing.")] = False,
) -> None:
    """The k-anonymity table of the current published data; exit 1 when a set is below its k."""
    settings = state_of(ctx).settings(target=target, privacy_policy=policy)
    from orchestration.warehouse import privacy
    from orchestration.warehouse.schemas import PUBLISHED_SCHEMA

    with reporting_errors():
        rules = privacy.load_policy(settings.privacy_policy)
        if settings.target == "duckdb":
            if not settings.published_path.exists():
                stdout.print(f"Nothing published yet ({settings.published_path}): run `cofre run` first.")
                raise typer.Exit(1)
            results = privacy.measure_duckdb(settings.published_path, rules, PUBLISHED_SCHEMA)
            where = str(settings.published_path)
        else:
            from orchestration.environment import prepare_process
            from orchestration.services import build_services

            prepare_process(settings)
            services = build_services(settings)
            with closing(services.warehouse.connect_postgres()) as con:
                results = privacy.measure_postgres(con, rules, PUBLISHED_SCHEMA)
            where = f"{services.warehouse.describe()}#{PUBLISHED_SCHEMA}"
    header = ("table", "quasi-identifiers", "k", "records below k", "verdict", "generalised")
    rows = privacy.report_lines(results)
    stdout.print(f"Published data: {where}\nPolicy: {rules.source} (default k {rules.min_k})")
    if plain:
        for row in (header, *rows):
            typer.echo("\t".join(row))  # plain text: rich would expand the tabs
    else:
        table = Table(*header, show_lines=True)
        for row in rows:
            table.add_row(*row)
        stdout.print(table)
    failed = privacy.failures(results)
    if failed:
        stdout.print("[red]Below the policy:[/red]\n" + "\n".join(failed))
        raise typer.Exit(1)
