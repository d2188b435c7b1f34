"""Every command answers --help, and the README's command reference is what the help says.

The commands are found by walking the click tree of the app, so a command added later is covered
without touching this file.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from flows.cli import app
from flows.commands import reference

PATHS = [path for path, _ in reference.command_tree()]


def test_the_walk_finds_commands_and_subcommands() -> None:
    assert {("demo",), ("gap",), ("sources", "check"), ("eval", "profiles"), ("label", "fit")} <= set(PATHS)
    assert len(PATHS) == len(set(PATHS))


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "betrokken")
def test_help_exits_0_and_names_the_command(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="betrokken")
    assert result.exit_code == 0, result.output
    usage = next(line for line in result.output.splitlines() if "Usage:" in line)
    assert f"Usage: {' '.join(('betrokken', *path))} " in usage, usage


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "betrokken")
def test_plain_help_names_the_command(path: tuple[str, ...]) -> None:
    text = reference.plain_help(path)
    assert text.startswith(f"Usage: {' '.join(('betrokken', *path))} "), text


def test_readme_command_reference_is_written_from_the_help() -> None:
    text = reference.README.read_text(encoding="utf-8")
    assert reference.with_reference(text) == text, (
        "README.md's command reference differs from the commands' --help; "
        "run: python -m flows.commands.reference"
    )


def test_reference_lists_every_command_once() -> None:
    section = reference.render()
    for path, command in reference.command_tree():
        if path and not hasattr(command, "commands"):
            assert section.count(f"<code>{' '.join(('betrokken', *path))}</code>") == 1, path
