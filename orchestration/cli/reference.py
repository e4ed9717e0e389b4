"""The CLI reference (docs/cli.md), generated from the app itself so it cannot drift from it:
`python -m orchestration.cli.reference > docs/cli.md` (a test checks the file is current)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from orchestration.cli.app import build_cli

SKIPPED = {"--help", "--install-completion", "--show-completion"}
GLOBAL = {"--home", "--debug"}


def reference() -> str:
    root = build_cli()
    lines = [
        "# CLI reference",
        "",
        "Generated from the app by `python -m orchestration.cli.reference > docs/cli.md`; do not edit.",
        "",
        "Global options, accepted before or after any command:",
        "",
        *_options_table([p for p in root.params if p.opts[0] in GLOBAL]),
    ]
    for path, command in _commands(root, "cofre"):
        lines += ["", f"## `{path}`", "", *_text(command.help)]
        arguments = [p for p in command.params if not p.opts[0].startswith("-")]
        if arguments:
            lines += ["", "| argument | help |", "|---|---|"]
            lines += [f"| `{p.metavar or p.name.upper()}` | {_cell(p.help)} |" for p in arguments]
        options = [
            p for p in command.params if p.opts[0].startswith("-") and p.opts[0] not in SKIPPED | GLOBAL
        ]
        if options:
            lines += ["", *_options_table(options)]
    return "\n".join(lines) + "\n"


def _commands(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    subs = getattr(command, "commands", None)
    if subs is None:
        yield path, command
        return
    for name, sub in subs.items():
        yield from _commands(sub, f"{path} {name}")


def _options_table(options: list[Any]) -> list[str]:
    rows = ["| option | default | help |", "|---|---|---|"]
    for option in options:
        names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
        default = "" if option.default in (None, False) or option.is_flag else f"`{option.default}`"
        rows.append(f"| {names} | {default} | {_cell(option.help)} |")
    return rows


def _text(help_text: str | None) -> list[str]:
    return [line.strip() for line in (help_text or "").strip().splitlines()]


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


if __name__ == "__main__":
    print(reference(), end="")
