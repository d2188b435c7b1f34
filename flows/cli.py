"""The ``betrokken`` command: one typer app built from the command modules in ``flows.commands``.

The modules are grouped by who uses them (operate, privacy, research, labelling, nlp); this file
only decides the commands' names and their order in ``--help``.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

# Before Prefect is imported: no usage analytics from a municipal machine, and quiet logs by default.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The first start of the local (ephemeral) Prefect server migrates its database: slow on small machines.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import typer

from flows.commands import labelling, nlp, operate, privacy, research
from flows.commands.common import EXIT_BUSY, EXIT_CONFIG, EXIT_FAILED, EXIT_PARTIAL, console, err

__all__ = ["EXIT_BUSY", "EXIT_CONFIG", "EXIT_FAILED", "EXIT_PARTIAL", "app", "console", "err", "main"]

app = typer.Typer(
    help="betrokken: which engagement profiles speak up online about municipal policy, and which are silent.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    """--version: the installed package's version, as a bug report or an upgrade check asks for it."""
    if value:
        from importlib.metadata import version

        console.print(f"betrokken {version('betrokken')}", markup=False, highlight=False)
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit."),
    ] = False,
) -> None:
    """The options before any command."""


app.command()(operate.demo)
app.command()(operate.run)
app.command()(operate.check)
app.command("nlp")(nlp.nlp_command)
app.command()(research.estimate)
app.command()(research.gap)
app.command()(research.report)
app.command()(research.sql)
app.command()(privacy.purge)
app.command()(privacy.forget)
app.command()(operate.serve)

sources_app = typer.Typer(help="Check the configured live sources.", no_args_is_help=True)
sources_app.command("check")(operate.sources_check)
app.add_typer(sources_app, name="sources")

eval_app = typer.Typer(help="Measure the NLP on your own labelled CSV.", no_args_is_help=True)
eval_app.command("sentiment")(nlp.eval_sentiment)
eval_app.command("topics")(nlp.eval_topics)
eval_app.command("profiles")(labelling.eval_profiles)
app.add_typer(eval_app, name="eval")

models_app = typer.Typer(help="Transformer models for the optional backend.", no_args_is_help=True)
models_app.command("download")(nlp.models_download)
app.add_typer(models_app, name="models")

label_app = typer.Typer(
    help="Label voices to calibrate and check the profile estimates.", no_args_is_help=True
)
label_app.command("export")(labelling.label_export)
label_app.command("import")(labelling.label_import)
label_app.command("fit")(labelling.label_fit)
app.add_typer(label_app, name="label")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
