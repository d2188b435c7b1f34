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

from common.extras import needs_extra
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


def fail(message: str, code: int = EXIT_CONFIG, label: str = "", style: str = "red") -> NoReturn:
    """Say what went wrong on one line of stderr and exit with ``code``.

    ``message`` is printed as written: square brackets in it (a path, a config section, an install
    hint such as ``betrokken[dask]``) are never taken for rich markup. ``label`` leads in colour.
    """
    lead = f"[{style}]{escape(label)}[/{style}] " if label else ""
    err.print(lead + escape(message), highlight=False)
    raise typer.Exit(code)


def input_error(exc: Exception) -> NoReturn:
    """Report a bad input file or option value and exit with the configuration code."""
    fail(str(exc), EXIT_CONFIG, "Input error")


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
        fail(
            f"{path}: [estimation] evidence: {exc}; "
            'use "shipped", "handset" or a file written by `betrokken label fit`',
            EXIT_CONFIG,
            "Configuration error",
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_CONFIG, "Configuration error")
    except ProfileModelError as exc:
        fail(f"{path}: {exc}", EXIT_CONFIG, "Configuration error")
    return settings


def check_backends(settings: Settings, path: Path) -> None:
    """The NLP backends a configuration asks for can load here: a transformer backend needs the
    transformers extra, the embedding topic head and sentiment the embeddings extra, which a run
    would otherwise find missing only once its NLP starts."""
    nlp = settings.nlp
    for setting, used in (
        ('topic_backend = "embeddings"', nlp.topic_backend == "embeddings"),
        ('sentiment_backend = "embeddings"', nlp.sentiment_backend == "embeddings"),
    ):
        if not used:
            continue
        from nlp.embeddings import EmbeddingsUnavailable
        from nlp.embeddings import check_extra as check_embeddings

        try:
            check_embeddings()
        except EmbeddingsUnavailable:
            fail(needs_extra(f"{path}: [nlp] {setting}", "embeddings"), EXIT_CONFIG, "Configuration error")
    asked = [
        setting
        for setting, used in (
            ('sentiment_backend = "transformers"', nlp.sentiment_backend == "transformers"),
            ('topic_backend = "zero-shot"', nlp.topic_backend == "zero-shot"),
        )
        if used
    ]
    if not asked:
        return
    from nlp.transformer import TransformerUnavailable, check_extra

    try:
        check_extra()
    except TransformerUnavailable:
        fail(
            needs_extra(f"{path}: [nlp] {' and '.join(asked)}", "transformers"),
            EXIT_CONFIG,
            "Configuration error",
        )


def parse_as_of(value: str | None) -> date | None:
    """The --as-of day, or None for the default; a malformed day is a configuration error."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of: expected a date like 2026-11-27, got {value!r}")


def parse_period(period: str | None) -> int | None:
    """The --period length in days (``90d`` -> 90), or None for the latest period."""
    if period is None:
        return None
    if not period.endswith("d") or not period[:-1].isdigit() or int(period[:-1]) == 0:
        fail(f"--period: expected a number of days such as 30d or 90d, got {period!r}")
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
        fail(f"--evidence: {exc}", EXIT_CONFIG, "Input error")


def plural(n: int, word: str, many: str | None = None) -> str:
    """``n`` with its noun: "1 item", "2 items"; give ``many`` where an s will not do ("copies")."""
    return f"{n} {word}" if n == 1 else f"{n} {many or word + 's'}"


def write_json_line(payload: Any, **kwargs: Any) -> None:
    """A line of stdout that is one JSON object (or list), for scripts and log collectors; never
    wrapped by rich."""
    import json
    import sys

    sys.stdout.write(json.dumps(payload, **kwargs) + "\n")
