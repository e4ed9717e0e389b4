"""`cofre`: the command line, and the edge where settings are read.

Heavy libraries (dlt, Airflow through dlt, pyarrow) are imported inside the commands, after the process
environment those libraries read has been set from the settings (AIRFLOW_HOME inside the state directory,
telemetry off), so `cofre --help` stays instant and nothing is created outside the state directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from orchestration.cli.commands import airflow as airflow_commands
from orchestration.cli.commands import audit, lake, lifecycle, vault
from orchestration.cli.commands.dashboard import dashboard
from orchestration.cli.commands.privacy import app as privacy_app
from orchestration.cli.state import CliState, state_of
from orchestration.environment import prepare_process
from orchestration.settings import Settings

app = typer.Typer(
    help="cofre: secure, local-first ELT.", no_args_is_help=True, pretty_exceptions_enable=False
)
app.add_typer(vault.app, name="vault")
app.add_typer(audit.app, name="audit")
app.add_typer(lake.app, name="lake")
app.add_typer(lifecycle.app, name="lifecycle")
app.add_typer(privacy_app, name="privacy")
app.add_typer(airflow_commands.app, name="airflow")
app.command()(dashboard)
console = Console()

HomeOption = Annotated[
    Path | None,
    typer.Option("--home", help="State directory (default ./.cofre, or COFRE_HOME).", show_default=False),
]
ScaleOption = Annotated[
    float | None,
    typer.Option(
        "--scale",
        help="Generated data size: 1 = real row counts (99,441 orders); default 0.1.",
        show_default=False,
    ),
]
SeedOption = Annotated[int | None, typer.Option("--seed", help="Generator seed.", show_default=False)]
OlistDirOption = Annotated[
    Path | None,
    typer.Option(
        "--olist-dir",
        help="Ingest the real Olist CSV files in this folder instead of generating.",
        show_default=False,
    ),
]
TargetOption = Annotated[
    str | None, typer.Option("--target", help="Warehouse: duckdb (default) or postgres.", show_default=False)
]
LakeOption = Annotated[
    str | None,
    typer.Option(
        "--lake",
        help="Lake location: file://DIR (default: the state directory) or s3://bucket/prefix "
        "(endpoint: COFRE_S3_ENDPOINT_URL; credentials: the vault's lake_access_key/lake_secret_key).",
        show_default=False,
    ),
]
ApiModeOption = Annotated[
    str | None,
    typer.Option(
        "--api-mode",
        help="replay (recorded snapshots, default) or live (real BCB and OpenWeather APIs).",
        show_default=False,
    ),
]


@app.callback()
def main_callback(ctx: typer.Context, home: HomeOption = None) -> None:
    state = ctx.obj if isinstance(ctx.obj, CliState) else CliState()
    state.home = home
    ctx.obj = state


def _run(
    settings: Settings, select: list[str] | None, only: tuple[str, ...] = (), resume: bool = False
) -> None:
    prepare_process(settings)
    from orchestration.cli.console import RichReporter, summary
    from orchestration.cli.errors import reporting_errors
    from orchestration.resume import NothingToResume, resume_steps
    from orchestration.runner import run_steps
    from orchestration.services import build_services
    from orchestration.steps import PIPELINE
    from orchestration.warehouse.ops import record_run

    if resume:
        if select:
            raise typer.BadParameter("use either --resume or --select", param_hint="--resume")
        try:
            resumed, steps = resume_steps(settings.runs_dir, PIPELINE)
        except NothingToResume as error:
            console.print(f"[red]Cannot resume:[/red] {error}")
            raise typer.Exit(1) from None
        console.print(f"Resuming run {resumed} from step {steps[0].name}")
    else:
        steps = PIPELINE.select(select) if select else PIPELINE.order()
    if only:
        steps = [s for s in steps if s.name.startswith(only)]
    with reporting_errors():
        services = build_services(settings)
    with RichReporter(console) as reporter:
        record = run_steps(steps, settings, services, reporter)
    record_run(settings, services, record)
    locations = {
        "state directory": str(settings.home),
        "warehouse": services.warehouse.describe(),
        "lake": settings.lake_location,
        "run record": str(settings.runs_dir / f"{record.run_id}.json"),
        "log": str(settings.logs_dir / "cofre.log"),
        "audit trail": str(settings.audit_path),
        "dashboard": "cofre dashboard (make dashboard) -> http://127.0.0.1:8501",
    }
    for table in summary(record, locations):
        console.print(table)
    if record.failed_step is not None:
        console.print(f"[red]Run failed at step {record.failed_step.name}:[/red] {record.failed_step.error}")
        raise typer.Exit(1)


@app.command()
def run(
    ctx: typer.Context,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    olist_dir: OlistDirOption = None,
    home: HomeOption = None,
    target: TargetOption = None,
    api_mode: ApiModeOption = None,
    lake_url: LakeOption = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Run only these steps; STEP+ adds everything downstream."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option("--resume", help="Re-run the last run from its first failed step."),
    ] = False,
) -> None:
    """Run the whole pipeline on the embedded default (or the given target) and print a summary."""
    settings = state_of(ctx).settings(
        scale=scale,
        seed=seed,
        olist_dir=olist_dir,
        home=home,
        target=target,
        api_mode=api_mode,
        lake_url=lake_url,
    )
    _run(settings, select, resume=resume)


@app.command()
def ingest(
    ctx: typer.Context,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    olist_dir: OlistDirOption = None,
    home: HomeOption = None,
    target: TargetOption = None,
    api_mode: ApiModeOption = None,
    lake_url: LakeOption = None,
) -> None:
    """Run only the ingestion steps: sources -> bronze lake + raw schemas."""
    settings = state_of(ctx).settings(
        scale=scale,
        seed=seed,
        olist_dir=olist_dir,
        home=home,
        target=target,
        api_mode=api_mode,
        lake_url=lake_url,
    )
    _run(settings, None, only=("prepare_", "ingest_"))


@app.command()
def generate(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder to create with the nine CSV files.")],
    scale: ScaleOption = None,
    seed: SeedOption = None,
) -> None:
    """Write Olist-shaped CSV files (same names, headers, formats and quirks as the real dataset)."""
    settings = state_of(ctx).settings(scale=scale, seed=seed)
    from rich.progress import Progress

    from ingestion.olist_generator import generate_olist

    with Progress(console=console) as progress:
        task = progress.add_task(f"generating at scale {settings.scale:g}", total=None)
        rows = generate_olist(
            out.resolve(),
            scale=settings.scale,
            seed=settings.seed,
            progress=lambda table, n: progress.update(task, description=f"{table}: {n:,}"),
        )
    for table, count in rows.items():
        console.print(f"{table:<40} {count:>12,}")
    console.print(f"written to {out.resolve()}")


@app.command()
def steps() -> None:
    """List the steps of the pipeline graph with their inputs and outputs."""
    from orchestration.steps import PIPELINE

    for step in PIPELINE.order():
        console.print(f"[bold]{step.name}[/bold]  {step.description}")
        console.print(
            f"    after: {', '.join(sorted(PIPELINE.upstream(step.name))) or '-'}"
            f"   outputs: {', '.join(step.outputs)}"
        )


@app.command()
def docs(
    ctx: typer.Context,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the site after building it.")
    ] = True,
    port: Annotated[int, typer.Option("--port", help="Port of the docs site.")] = 8081,
    target: TargetOption = None,
) -> None:
    """Build the dbt docs site (models, columns, tests, lineage, exposures) and serve it on localhost."""
    settings = state_of(ctx).settings(target=target)
    prepare_process(settings)
    from orchestration.cli.errors import reporting_errors
    from orchestration.services import build_services
    from orchestration.warehouse.dbt import run_dbt

    with reporting_errors():
        vault = build_services(settings, actor="cli").vault
    built = run_dbt(["docs", "generate"], settings, vault, on_line=console.print)
    if not built.success:
        console.print("[red]dbt docs generate failed:[/red] " + "; ".join(built.failures))
        raise typer.Exit(1)
    console.print(f"docs site written to {built.target_path}")
    if serve:
        run_dbt(
            ["docs", "serve", "--port", str(port), "--no-browser"], settings, vault, on_line=console.print
        )


@app.command()
def doctor(ctx: typer.Context, target: TargetOption = None) -> None:
    """Check this machine can run cofre: Python, packages, Java, the state directory, the warehouse."""
    from orchestration.cli.doctor import run_checks

    settings = state_of(ctx).settings(target=target)
    prepare_process(settings)
    failures = 0
    for check in run_checks(settings):
        mark = "[green]ok[/green]" if check.ok else "[red]FAIL[/red]"
        console.print(f"{mark:>20}  {check.name}: {check.detail}")
        failures += not check.ok
    if failures:
        raise typer.Exit(1)


def main() -> None:
    from orchestration.environment import take_master_key

    app(obj=CliState(vault_key=take_master_key()))
