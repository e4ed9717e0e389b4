"""`cofre dashboard`: start the Streamlit app on the published data, headless, on localhost.

The app runs in its own process (`streamlit run dashboard/app.py`); it receives the settings of this
command as COFRE_* environment variables, so it reads the same state directory and target. The launch
line and environment are built here once and reused by the tests and the benchmark, which start the app
exactly as users do.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer
from pydantic import SecretStr
from rich.console import Console

from dashboard.navigation import APP_SCRIPT
from orchestration.cli.state import state_of
from orchestration.settings import Settings
from security.child_env import child_environment

console = Console(highlight=False)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The non-secret settings as the COFRE_* variables that rebuild them in another process. The vault's
    master key is never among them: the app reads only published data, and in PostgreSQL mode its own
    reader password (a file, or the vault through the per-user key file)."""
    return {
        f"COFRE_{name.upper()}": str(value)
        for name, value in settings.model_dump().items()
        if value is not None and not isinstance(value, SecretStr)
    }


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """`streamlit run` of the app with this interpreter: headless, no usage statistics, no error details
    shown to users (dashboard/.streamlit/config.toml says the same; flags win over any other config)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP_SCRIPT),
        "--server.headless=true",
        f"--server.address={address}",
        f"--server.port={port}",
        "--browser.gatherUsageStats=false",
        "--client.showErrorDetails=none",
    ]


def streamlit_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The app's environment: allow-listed from `base` (default: this process's), with the settings and
    telemetry off (security.child_env: no secret is inherited, the master key never)."""
    return child_environment(
        "streamlit",
        settings={
            **settings_environment(settings),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        },
        environ=base,
    )


def dashboard(
    ctx: typer.Context,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8501,
    address: Annotated[
        str, typer.Option("--address", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    target: Annotated[
        str | None,
        typer.Option("--target", help="Warehouse to read: duckdb (default) or postgres.", show_default=False),
    ] = None,
) -> None:
    """Open the analytics dashboard (Streamlit) on the published marts: http://ADDRESS:PORT."""
    settings = state_of(ctx).settings(target=target)
    if settings.target == "duckdb" and not settings.published_path.exists():
        console.print(
            f"[red]No published marts at {settings.published_path}.[/red] Run `cofre run` first: the "
            "dashboard reads only data that passed the quality gates."
        )
        raise typer.Exit(1)
    console.print(f"cofre dashboard on http://{address}:{port} (Ctrl-C to stop)")
    sys.stdout.flush()
    # Become the Streamlit server (exec, not a child process): Ctrl-C, SIGTERM from a supervisor and the
    # exit status all reach Streamlit itself, and no orphan server is left behind.
    command = streamlit_command(port, address)
    os.execve(command[0], command, streamlit_environment(settings))  # noqa: S606 (no shell: an argv list)
