"""What every command shares: the consoles, the exit codes and the checks of common inputs.

Exit codes and messages are contracts that cron jobs and scripts rely on, so each is written here
once and the command modules only call it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from flows.config import ConfigError, Settings, load_settings
from profiles.model import ProfileModelError, load_model

if TYPE_CHECKING:
    from profiles.evidence import EvidenceModel
    from profiles.model import ProfileModel

console = Console()
err = Console(stderr=True, soft_wrap=True)  # one error, one line: easy to grep in a cron log

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3
EXIT_BUSY = 4  # another run holds the warehouse

# What each exit code means, for the command reference in the README.
EXIT_CODES = {
    0: "done",
    EXIT_FAILED: "failed",
    EXIT_CONFIG: "configuration or input error",
    EXIT_PARTIAL: "`run` done, but a source failed (the other sources were stored)",
    EXIT_BUSY: "not started or not done, because another run holds the warehouse",
}

DEMO_WAREHOUSE = Path("betrokken-demo/warehouse.duckdb")


def input_error(exc: Exception) -> NoReturn:
    """Report a bad input file or option value and exit with the configuration code."""
    err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
    raise typer.Exit(EXIT_CONFIG) from None


def check_config(path: Path) -> Settings:
    """Validate the config and its profile model up front, so errors come before any work."""
    from profiles.evidence import evidence_for
    from profiles.fit import FitError

    try:
        settings = load_settings(path)
        model = load_model(settings.profile_model)
        for m in settings.municipalities:
            if m.population_shares is not None:
                model.with_population_shares(m.population_shares)
        evidence_for(model, settings.estimation.evidence)
    except FitError as exc:
        err.print(
            f"[red]Configuration error[/red] {path}: [estimation] evidence: {escape(str(exc))}; "
            'use "shipped", "handset" or a file written by `betrokken label fit`',
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG) from None
    except ConfigError as exc:
        err.print(f"[red]Configuration error[/red] {exc}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    except ProfileModelError as exc:
        err.print(f"[red]Configuration error[/red] {path}: {exc}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    return settings


def parse_as_of(value: str | None) -> date | None:
    """The --as-of day, or None for the default; a malformed day is a configuration error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"--as-of: expected a date like 2026-11-27, got {value!r}")
        raise typer.Exit(EXIT_CONFIG) from None


def parse_period(period: str | None) -> int | None:
    """The --period length in days (``90d`` -> 90), or None for the latest period."""
    if period is None:
        return None
    if not period.endswith("d") or not period[:-1].isdigit() or int(period[:-1]) == 0:
        err.print(f"--period: expected a number of days such as 30d or 90d, got {period!r}")
        raise typer.Exit(EXIT_CONFIG)
    return int(period[:-1])


def warehouse_path(warehouse: Path | None, config: Path | None) -> Path:
    """--warehouse, else the config's warehouse, else the demo's: what research commands read."""
    if warehouse is not None:
        return warehouse
    if config is not None:
        return check_config(config).warehouse.path
    return DEMO_WAREHOUSE


def profile_model(model: str) -> ProfileModel:
    """The --model profile model; an unknown id or a broken file is an input error."""
    try:
        return load_model(model)
    except ProfileModelError as exc:
        input_error(exc)


def evidence_model(model: ProfileModel, evidence: str) -> EvidenceModel:
    """The --evidence choice for a profile model; a fit that does not load is an input error."""
    from profiles.evidence import evidence_for
    from profiles.fit import FitError

    try:
        return evidence_for(model, evidence)
    except FitError as exc:
        err.print(f"[red]Input error[/red] --evidence: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def write_json_line(payload: Any, **kwargs: Any) -> None:
    """The last line of stdout: one JSON object (or list) for scripts, never wrapped by rich."""
    import json
    import sys

    sys.stdout.write(json.dumps(payload, **kwargs) + "\n")
