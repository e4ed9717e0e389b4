"""Every command and option README.md's CLI block shows exists in the app (no drift between the two)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from orchestration.cli.app import build_cli

README = Path(__file__).resolve().parents[2] / "README.md"
OPTION = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")


def cli_lines() -> list[str]:
    """The `cofre ...` lines of the README's CLI block, continuation lines joined, comments dropped."""
    text = README.read_text(encoding="utf-8")
    block = text.split("## The CLI", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    lines: list[str] = []
    for raw in block.splitlines():
        line = raw.split("  #", 1)[0].rstrip()
        if line.startswith("cofre "):
            lines.append(line)
        elif line.strip() and lines:
            lines[-1] += " " + line.strip()
    return lines


def options_of(command: Any) -> set[str]:
    return {name for param in command.params for name in (*param.opts, *param.secondary_opts)}


def test_the_readme_shows_the_cli() -> None:
    assert len(cli_lines()) >= 15


@pytest.mark.parametrize("line", cli_lines())
def test_every_command_and_option_the_readme_shows_exists(line: str) -> None:
    command = build_cli()
    words = line.split()[1:]
    while words and words[0] in getattr(command, "commands", {}):
        command = command.commands[words.pop(0)]
    if words and "|" in words[0] and not words[0].startswith(("-", "[")):
        alternatives = words.pop(0).split("|")
        missing = [name for name in alternatives if name not in command.commands]
        assert not missing, f"{line}: no command {missing} under `{command.name}`"
        return
    assert not hasattr(command, "commands"), f"{line}: `{command.name}` needs a sub-command"
    shown = set(OPTION.findall(" ".join(words)))
    unknown = shown - options_of(command)
    assert not unknown, f"{line}: `{command.name}` has no option {sorted(unknown)}"


def test_every_command_of_the_app_is_in_the_readme() -> None:
    shown = {" ".join(w for w in line.split()[1:3] if not w.startswith(("-", "["))) for line in cli_lines()}
    listed = set()
    for name, command in build_cli().commands.items():
        if hasattr(command, "commands"):
            listed |= {f"{name} {sub}" for sub in command.commands}
        else:
            listed.add(name)
    expanded = set()
    for entry in shown:
        head, _, tail = entry.partition(" ")
        expanded |= {f"{head} {t}".strip() for t in tail.split("|")} if "|" in tail else {entry}
        expanded.add(head)
    assert listed <= expanded, sorted(listed - expanded)


def test_the_cli_reference_is_generated_from_the_app() -> None:
    from orchestration.cli.reference import reference

    current = (README.parent / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == reference(), "regenerate: python -m orchestration.cli.reference > docs/cli.md"
