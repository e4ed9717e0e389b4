"""`cofre`: the command line, and the edge where settings are read.

Heavy libraries (dlt, Airflow through dlt, pyarrow) are imported inside the commands, after the process
environment those libraries read has been set from the settings (AIRFLOW_HOME inside the state directory,
telemetry off), so `cofre --help` stays instant and nothing is created outside the state directory.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from orchestration.cli.commands import airflow as airflow_commands
from orchestration.cli.commands import audit, lake, lifecycle, vault
from orchestration.cli.commands import dbt as dbt_command
from orchestration.cli.commands.dashboard import dashboard
from orchestration.cli.commands.privacy import app as privacy_app
from orchestration.cli.errors import reporting_errors, stderr
from orchestration.cli.state import CliState, add_global_options, state_of
from orchestration.environment import prepare_process
from orchestration.errors import UserError
from orchestration.settings import Settings

if TYPE_CHECKING:
    from orchestration.lock import LockHolder
    from orchestration.runner import RunRecord
    from orchestration.services import Services

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
app.command(context_settings=dbt_command.CONTEXT_SETTINGS)(dbt_command.dbt)
console = Console()

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


WaitOption = Annotated[
    bool,
    typer.Option(
        "--wait", help="If another run holds the state directory, wait for it instead of exiting 2."
    ),
]


@app.callback()
def main_callback() -> None:
    """cofre: secure, local-first ELT. Global options (--home, --debug) go before or after any command."""


def _run(
    settings: Settings,
    select: list[str] | None,
    *,
    only: tuple[str, ...] = (),
    resume: bool = False,
    wait: bool = False,
) -> None:
    """Run the pipeline (or its `select`ed steps) with the state directory locked: first make the last
    run's crash visible (a dead pid's `running` record becomes `interrupted`) and remove what dead runs
    left, then check every service the run needs, then run, record and summarise."""
    if resume and select:
        raise UserError("--resume and --select cannot be combined: --resume runs the unfinished steps")
    prepare_process(settings)
    from orchestration.lock import state_lock
    from orchestration.runner import new_run_id

    run_id = new_run_id()
    with state_lock(settings.home, "cofre run", run_id=run_id, wait=wait, on_wait=_say_waiting(settings)):
        _run_locked(settings, run_id, select, only=only, resume=resume)


def _say_waiting(settings: Settings) -> Callable[[LockHolder | None], None]:
    def say(holder: LockHolder | None) -> None:
        who = holder.describe() if holder else "another process"
        console.print(f"waiting for {who} to release {settings.home} ...")

    return say


def _run_locked(
    settings: Settings, run_id: str, select: list[str] | None, *, only: tuple[str, ...], resume: bool
) -> None:
    from orchestration.cli.console import RichReporter, summary
    from orchestration.cli.doctor import preflight
    from orchestration.graph import GraphError
    from orchestration.leftovers import remove_leftovers
    from orchestration.resume import NothingToResume, mark_interrupted, resume_steps
    from orchestration.runner import run_steps
    from orchestration.services import build_services
    from orchestration.steps import PIPELINE

    interrupted = mark_interrupted(settings.runs_dir)
    if interrupted:
        _record_interrupted(settings, interrupted)
    resumed: str | None = None
    if resume:
        try:
            resumed, steps = resume_steps(settings.runs_dir, PIPELINE)
        except NothingToResume as error:
            console.print(f"[red]Cannot resume:[/red] {error}")
            raise typer.Exit(1) from None
    else:
        try:
            steps = PIPELINE.select(select) if select else PIPELINE.order()
        except GraphError as error:
            raise UserError(f"--select: {error}") from None
    if only:
        steps = [s for s in steps if s.name.startswith(only)]

    failed_checks = preflight(settings, steps)
    if failed_checks:
        for check in failed_checks:
            stderr.print(f"[red]error:[/red] {check.name}: {check.detail}", soft_wrap=True)
        raise UserError("nothing was run: put the above right (`cofre doctor` checks again)", exit_code=1)

    with reporting_errors():
        services = build_services(settings)
    removed = remove_leftovers(settings, services.lake)
    if removed:
        services.audit.record("run.cleanup", target=run_id, details={"removed": [str(p) for p in removed]})
        names = ", ".join(path.name for path in removed)
        console.print(f"removed {len(removed)} leftover(s) of dead runs: {names}")
    if resumed:
        console.print(f"Resuming run {resumed} from step {steps[0].name}")

    with RichReporter(console) as reporter:
        record = run_steps(steps, settings, services, reporter, run_id=run_id, resumes=resumed)
    _record_safely(settings, services, [*interrupted, record])
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


def _record_interrupted(settings: Settings, interrupted: list[RunRecord]) -> None:
    """Say so, and record a `run.interrupted` audit event for each run found dead (at once: even if the
    preflight stops this run, the trail has them; a run record exists only once the vault did)."""
    from orchestration.services import open_audited

    with reporting_errors():
        _, trail = open_audited(settings, actor="runner")
        for record in interrupted:
            console.print(
                f"[yellow]Run {record.run_id} was interrupted[/yellow] (pid {record.pid} ended during "
                f"{record.unfinished_step or 'its start'}); `cofre run --resume` continues it"
            )
            trail.record(
                "run.interrupted",
                target=record.run_id,
                outcome="failure",
                details={"pid": record.pid, "step": record.unfinished_step},
            )


def _record_safely(settings: Settings, services: Services, records: list[RunRecord]) -> None:
    """Bookkeeping (the ops tables) never hides the run's own outcome: a failure to record is one line
    here and a traceback in the log, and the summary still follows."""
    from orchestration.errors import describe_error
    from orchestration.warehouse.ops import record_run

    for record in records:
        try:
            record_run(settings, services, record)
        except Exception as error:
            logging.getLogger(__name__).exception("recording run %s in the ops tables failed", record.run_id)
            console.print(
                f"[yellow]warning:[/yellow] run {record.run_id} is not in the ops tables "
                f"({describe_error(error)}); its record is {settings.runs_dir / (record.run_id + '.json')}",
                soft_wrap=True,
            )
            return


@app.command()
def run(
    ctx: typer.Context,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    olist_dir: OlistDirOption = None,
    target: TargetOption = None,
    api_mode: ApiModeOption = None,
    lake_url: LakeOption = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Run only these steps; STEP+ adds everything downstream."),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume", help="Continue the last run from its first unfinished (failed or interrupted) step."
        ),
    ] = False,
    wait: WaitOption = False,
) -> None:
    """Run the whole pipeline on the embedded default (or the given target) and print a summary."""
    settings = state_of(ctx).settings(
        scale=scale,
        seed=seed,
        olist_dir=olist_dir,
        target=target,
        api_mode=api_mode,
        lake_url=lake_url,
    )
    _run(settings, select, resume=resume, wait=wait)


@app.command()
def ingest(
    ctx: typer.Context,
    scale: ScaleOption = None,
    seed: SeedOption = None,
    olist_dir: OlistDirOption = None,
    target: TargetOption = None,
    api_mode: ApiModeOption = None,
    lake_url: LakeOption = None,
    wait: WaitOption = False,
) -> None:
    """Run only the ingestion steps: sources -> bronze lake + raw schemas."""
    settings = state_of(ctx).settings(
        scale=scale,
        seed=seed,
        olist_dir=olist_dir,
        target=target,
        api_mode=api_mode,
        lake_url=lake_url,
    )
    _run(settings, None, only=("prepare_", "ingest_"), wait=wait)


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
    wait: WaitOption = False,
) -> None:
    """Build the dbt docs site (models, columns, tests, lineage, exposures) and serve it on localhost.

    Building reads the pipeline's warehouse (DuckDB: one process at a time), so it holds the state
    directory's lock; serving the built site does not."""
    settings = state_of(ctx).settings(target=target, existing=True)
    prepare_process(settings)
    from orchestration.lock import state_lock
    from orchestration.services import build_services
    from orchestration.warehouse.dbt import run_dbt

    with state_lock(settings.home, "cofre docs", wait=wait, on_wait=_say_waiting(settings)):
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


def build_cli() -> Any:
    """The click command of the app, with the global options on every group and command."""
    return add_global_options(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> None:
    """`cofre`: a user error is one or two lines and exit 2 (a usage error, a bad option value, a busy
    state directory); any other error one line and exit 1, its traceback in the log (`--debug` shows
    it)."""
    from orchestration.environment import take_master_key

    state = CliState(vault_key=take_master_key())  # out of the environment: no child inherits it
    try:
        code = build_cli().main(args=argv, prog_name="cofre", standalone_mode=False, obj=state)
    except typer.TyperException as error:  # click's usage errors (typer vendors click)
        if state.debug:
            raise
        code = _show_usage_error(error)
    except typer.Abort:
        stderr.print("Aborted.")
        code = 1
    except UserError as error:
        if state.debug:
            raise
        stderr.print(f"[red]error:[/red] {escape(str(error))}", soft_wrap=True)
        code = error.exit_code
    except Exception as error:
        if state.debug:
            raise
        from orchestration.errors import describe_error

        logging.getLogger(__name__).exception("cofre failed")
        stderr.print(f"[red]error:[/red] {escape(describe_error(error))}", soft_wrap=True)
        stderr.print("  (the traceback is in the log; --debug shows it)")
        code = 1
    sys.exit(code or 0)


def _show_usage_error(error: typer.TyperException) -> int:
    """One line for what was wrong, one for where the valid values are; `cofre` alone shows the help."""
    ctx = getattr(error, "ctx", None)
    if type(error).__name__ == "NoArgsIsHelpError":
        typer.echo(error.format_message())
        return 0
    stderr.print(f"[red]error:[/red] {escape(error.format_message())}", soft_wrap=True)
    if ctx is not None:
        stderr.print(f"  see: {ctx.command_path} --help", soft_wrap=True, markup=False)
    return int(getattr(error, "exit_code", 2))
