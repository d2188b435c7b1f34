"""Write the README's command reference from the commands' own ``--help``.

The reference is the plain-text help of every command, so it cannot drift from what the command
accepts: ``python -m flows.commands.reference`` rewrites the part of README.md between the two
marker comments, and ``--check`` only says whether it is up to date (a test runs the same check).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from common.markers import replace_between, rewrite
from flows.cli import app
from flows.commands.common import EXIT_CODES

PROG = "betrokken"
README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- command reference: written by `python -m flows.commands.reference` from --help -->"
END = "<!-- end of the command reference -->"
WIDTH = 100  # fixed, so the text does not depend on the terminal it was written in


def walk(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command and group under ``command``, depth first in --help order, with its path."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from walk(sub, (*path, name))


def command_tree() -> list[tuple[tuple[str, ...], Any]]:
    """The click commands of the ``betrokken`` app, freshly built (safe to change for rendering)."""
    return list(walk(typer.main.get_command(app)))


def plain_help(path: tuple[str, ...]) -> str:
    """The help of one command as ``betrokken ... --help`` prints it without rich boxes."""
    root = typer.main.get_command(app)
    for _, command in walk(root):
        command.rich_markup_mode = None  # plain text: no box drawing, no colour codes
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        root.main(
            args=[*path, "--help"],
            prog_name=PROG,
            standalone_mode=False,
            terminal_width=WIDTH,
            max_content_width=WIDTH,
        )
    return out.getvalue().rstrip() + "\n"


def _summary(command: Any) -> str:
    """The first paragraph of a command's help, on one line."""
    return html.escape(" ".join((command.help or "").split("\n\n")[0].split()), quote=False)


def render() -> str:
    """The reference: exit codes, then every command's one-line summary with its full help folded in."""
    lines = [
        BEGIN,
        "",
        "Exit codes: " + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()) + ".",
        "",
    ]
    for path, command in command_tree():
        if not path or hasattr(command, "commands"):
            continue  # the groups' help only lists the commands below, which follow in full
        name = " ".join((PROG, *path))
        lines += [
            f"<details><summary><code>{name}</code>: {_summary(command)}</summary>",
            "",
            "```",
            plain_help(path).rstrip(),
            "```",
            "",
            "</details>",
            "",
        ]
    lines.append(END)
    return "\n".join(lines) + "\n"


def with_reference(text: str) -> str:
    """``text`` (the README) with the part between the markers replaced by :func:`render`."""
    return replace_between(text, BEGIN, END, render())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="only report whether README.md is up to date")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    updated = with_reference(args.readme.read_text(encoding="utf-8"))
    return rewrite(
        args.readme, updated, "the command reference", "python -m flows.commands.reference", check=args.check
    )


if __name__ == "__main__":
    sys.exit(main())
