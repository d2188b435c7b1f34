"""The ``betrokken`` command."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Annotated, Any

# Before Prefect is imported: no usage analytics from a municipal machine, and quiet logs by default.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
# The first start of the local (ephemeral) Prefect server migrates its database: slow on small machines.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.config import ConfigError, Settings, load_settings
from profiles.evidence import EVIDENCE_HANDSET, EVIDENCE_SHIPPED
from profiles.model import ProfileModelError, load_model

app = typer.Typer(
    help="betrokken: which engagement profiles speak up online about municipal policy, and which are silent.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # one error, one line: easy to grep in a cron log

EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3
EXIT_BUSY = 4  # another run holds the warehouse

# Options of every command that runs the nightly flow (demo, run, serve).
RunnerOption = Annotated[
    str, typer.Option(help="Where the NLP computes: threads (this process), processes or dask.")
]
WorkersOption = Annotated[
    int | None,
    typer.Option(
        min=1, help="Workers of the runner (default: threads 1, processes and dask one per core but one)."
    ),
]
DaskAddressOption = Annotated[
    str | None, typer.Option(help="An existing Dask scheduler, tcp://host:8786 (with --runner dask).")
]


def _check_config(path: Path) -> Settings:
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


def _run_flow(**params: Any) -> dict[str, Any]:
    """Run the nightly flow; a run already in progress or a failure ends the command with its code."""
    from flows.nightly import nightly
    from warehouse.lock import RunInProgress

    try:
        return nightly(**params)
    except RunInProgress as exc:
        err.print(f"[yellow]Not started[/yellow]: {exc}", highlight=False)
        raise typer.Exit(EXIT_BUSY) from None
    except Exception as exc:
        err.print(f"[red]Run failed[/red]: {type(exc).__name__}: {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None


def _runner_params(runner: str, workers: int | None, dask_address: str | None) -> dict[str, Any]:
    from flows.runners import RUNNERS

    if runner not in RUNNERS:
        err.print(f"--runner: expected one of {', '.join(RUNNERS)}, got {runner!r}")
        raise typer.Exit(EXIT_CONFIG)
    if dask_address is not None and runner != "dask":
        err.print("--dask-address needs --runner dask")
        raise typer.Exit(EXIT_CONFIG)
    if runner == "dask":
        try:
            import prefect_dask  # noqa: F401
        except ImportError:
            err.print("--runner dask needs the dask extra: pip install -e '.[dask]'")
            raise typer.Exit(EXIT_CONFIG) from None
    return {"runner": runner, "workers": workers, "dask_address": dask_address}


def _as_of(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        err.print(f"--as-of: expected a date like 2026-11-27, got {value!r}")
        raise typer.Exit(EXIT_CONFIG) from None


def _print_paths(summary: dict[str, Any]) -> None:
    for label in ("warehouse", "snapshot", "export", "report"):
        if summary.get(label):
            console.print(f"{label + ':':<10} {Path(summary[label]).resolve()}")


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"Run {summary['run_id']}: {summary['status']}", title_justify="left")
    numbers = ("fetched", "new", "dup", "empty", "cut", "s")
    table.add_column("source", overflow="fold", min_width=18)
    table.add_column("status")
    for column in numbers:
        table.add_column(column, justify="right")
    table.add_column("reason", overflow="fold")
    table.caption = "dup: duplicates linked; empty: skipped, nothing visible; cut: truncated at 100,000 chars"
    for s in summary["sources"]:
        table.add_row(
            s["source_key"],
            s["status"],
            str(s["fetched"]),
            str(s["new"]),
            str(s["duplicate"]),
            str(s.get("skipped_empty", 0)),
            str(s.get("truncated", 0)),
            f"{s['duration_s']:.2f}",
            s["reason"] or "",
        )
    console.print(table)
    console.print(
        f"posts new: {summary['posts_new']}, enriched: {summary['posts_enriched']}, "
        f"estimate rows: {summary['estimates']}, texts purged after retention: {summary['text_purged']}"
    )
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary["stage_seconds"].items())
    if stages:
        console.print(f"stages: {stages}")
    for note in summary["notes"]:
        console.print(f"[yellow]{escape(note)}[/yellow]")


def _status_text(status: str, reason: str | None) -> str:
    """The status as printed: an unknown one says why (few voices, little evidence)."""
    return f"{status} ({reason.replace('_', ' ')})" if status == "unknown" and reason else status


def _print_gap(warehouse: Path, intended: dict[str, Any] | None) -> None:
    import duckdb

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT municipality, profile_id, profile_name, n_voices, population_share, online_share, "
            "online_lower, online_upper, status, status_reason FROM v_reach_gap "
            "WHERE topic IS NULL AND channel IS NULL "
            "ORDER BY municipality, population_share DESC, profile_id"
        ).fetchall()
    by_municipality: dict[str, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_municipality.setdefault(row[0], []).append(row)
    for municipality, items in by_municipality.items():
        mix = (intended or {}).get(municipality)
        table = Table(
            title=f"{municipality}: online share per profile ({items[0][3]} voices)", title_justify="left"
        )
        for column in ("profile", "population", "online (90% interval)", "status"):
            table.add_column(column)
        if mix:
            table.add_column("intended mix of the sample")
        total = sum(mix.values()) if mix else 0
        for _, pid, name, _, pop, share, lo, hi, status, reason in items:
            online = "–" if share is None else f"{share:.0%} ({lo:.0%}–{hi:.0%})"
            cells = [name, f"{pop:.0%}", online, _status_text(status, reason)]
            if mix:
                cells.append(f"{mix.get(pid, 0) / total:.0%}")
            table.add_row(*cells)
        console.print(table)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for warehouse.duckdb and report.html.")] = Path(
        "betrokken-demo"
    ),
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the nightly flow on the bundled sample corpus (no network, no accounts).

    Example: betrokken demo --out /tmp/demo
    """
    from sources.sample import demo_config_path, intended_mix, sample_end

    out.mkdir(parents=True, exist_ok=True)
    warehouse = out / "warehouse.duckdb"
    report = out / "report.html"
    summary = _run_flow(
        config_path=str(demo_config_path()),
        mode="sample",
        warehouse_path=str(warehouse),
        report_path=str(report),
        as_of=sample_end().date(),
        **_runner_params(runner, workers, dask_address),
    )
    _print_summary(summary)
    _print_gap(warehouse, intended_mix()["voices"])
    console.print(
        "The intended mix is what this project wrote the sample with; the evidence was fitted on "
        "other voices, written by two writers outside the project. A small check, not a validation."
    )
    _print_paths(summary)


@app.command()
def run(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
    as_of: Annotated[str | None, typer.Option(help="Last day of the estimation period, YYYY-MM-DD.")] = None,
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the nightly job on the live sources of a configuration.

    Exit codes: 0 done, 1 failed, 2 configuration error, 3 done but a source failed,
    4 not started because another run holds the warehouse.

    Example: betrokken run --config betrokken.toml
    """
    _check_config(config)
    day = _as_of(as_of)
    summary = _run_flow(
        config_path=str(config), mode="live", as_of=day, **_runner_params(runner, workers, dask_address)
    )
    _print_summary(summary)
    _print_paths(summary)
    if summary["status"] == "partial":
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
def check(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
) -> None:
    """Validate a configuration file and its profile model without running anything.

    Example: betrokken check --config betrokken.toml
    """
    settings = _check_config(config)
    console.print(
        f"{config}: valid; {len(settings.municipalities)} municipalities, "
        f"profile model {settings.profile_model!r}, warehouse {settings.warehouse.path}"
    )


sources_app = typer.Typer(help="Check the configured live sources.", no_args_is_help=True)
app.add_typer(sources_app, name="sources")


@sources_app.command("check")
def sources_check(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
) -> None:
    """Validate the config, reach each source once and print what came back.

    Exits 1 when any source failed; Reddit without credentials is reported as skipped.

    Example: betrokken sources check --config betrokken.toml
    """
    settings = _check_config(config)
    from dataclasses import replace

    from flows.nightly import live_sources
    from sources.base import SourceError
    from sources.pseudonym import Pseudonymiser
    from sources.reddit import RedditSource

    notes: list[str] = []
    # A throwaway key: probing stores nothing, so no author key is ever made with it.
    sources = live_sources(settings, Pseudonymiser(os.urandom(32)), notes)
    table = Table(title=f"Sources in {config}", title_justify="left")
    for column in ("source", "status", "items", "reason"):
        table.add_column(column, justify="right" if column == "items" else "left")
    failed = 0
    for source in sources:
        if isinstance(source, RedditSource):
            source.options = replace(source.options, limit=5)
        try:
            items = source.probe()
            table.add_row(source.key, "ok", str(items), "")
        except SourceError as exc:
            failed += 1
            table.add_row(source.key, "[red]failed[/red]", "0", escape(str(exc)))
    for note in notes:
        table.add_row("reddit", "skipped", "0", escape(note))
    console.print(table)
    if failed:
        raise typer.Exit(EXIT_FAILED)


eval_app = typer.Typer(help="Measure the NLP on your own labelled CSV.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


def _print_eval(report: Any) -> None:
    import json

    table = Table(
        title=f"{report.task}: n={report.n}, accuracy {report.accuracy:.3f}, "
        f"macro F1 {report.macro_f1:.3f}, {report.docs_per_s:.0f} docs/s",
        title_justify="left",
    )
    for column in ("class", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "class" else "right")
    for c in report.per_class:
        table.add_row(c.label, f"{c.precision:.3f}", f"{c.recall:.3f}", f"{c.f1:.3f}", str(c.support))
    console.print(table)
    # The last line of stdout is one JSON object, for scripts.
    sys.stdout.write(json.dumps(report.as_json(), ensure_ascii=False) + "\n")


def _run_eval(fn: Any, csv_path: Path, text_col: str, label_col: str, **kwargs: Any) -> None:
    from nlp.evaluate import EvalInputError
    from nlp.pipeline import get_enricher

    try:
        report = fn(get_enricher(), csv_path, text_col, label_col, **kwargs)
    except EvalInputError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    _print_eval(report)


def _transformer_sentiment(model: str | None) -> Any:
    from nlp.transformer import DEFAULT_SENTIMENT_MODEL, TransformerSentiment, TransformerUnavailable

    try:
        return TransformerSentiment(model or DEFAULT_SENTIMENT_MODEL)
    except TransformerUnavailable as exc:
        err.print(f"[red]Backend unavailable[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


BACKEND_HELP = "Sentiment backend: 'lexicon' (no download) or 'transformers' (extra; a local model)."
MODEL_HELP = "Local directory or cached Hugging Face id of the transformer model."
TOPIC_BACKEND_HELP = "'lexicon' (the taxonomy) or 'zero-shot' (extra; a local NLI model)."


@eval_app.command("sentiment")
def eval_sentiment(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text and a label column.")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    label_col: Annotated[str, typer.Option(help="Column with -1/0/1, neg/neu/pos or negative/...")] = "label",
    backend: Annotated[str, typer.Option(help=BACKEND_HELP)] = "lexicon",
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
) -> None:
    """Accuracy and macro F1 of the sentiment on labelled texts (binary when the labels have two classes).

    Example: betrokken eval sentiment --csv reviews.csv --label-col polarity
    """
    from nlp.evaluate import evaluate_sentiment

    if backend not in ("lexicon", "transformers"):
        err.print(f"--backend: expected 'lexicon' or 'transformers', got {backend!r}")
        raise typer.Exit(EXIT_CONFIG)
    engine = _transformer_sentiment(model) if backend == "transformers" else None
    _run_eval(evaluate_sentiment, csv_path, text_col, label_col, backend=engine)


@eval_app.command("topics")
def eval_topics(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text and a topic column.")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    label_col: Annotated[str, typer.Option(help="Column with topic ids, separated by ';'.")] = "topic",
    backend: Annotated[str, typer.Option(help=TOPIC_BACKEND_HELP)] = "lexicon",
    model: Annotated[str | None, typer.Option(help=MODEL_HELP)] = None,
    threshold: Annotated[float, typer.Option(help="Zero-shot: probability from which a topic counts.")] = 0.5,
) -> None:
    """Per-topic precision, recall and F1 on labelled texts.

    Example: betrokken eval topics --csv posts.csv
    """
    from nlp.evaluate import evaluate_topics

    if backend not in ("lexicon", "zero-shot"):
        err.print(f"--backend: expected 'lexicon' or 'zero-shot', got {backend!r}")
        raise typer.Exit(EXIT_CONFIG)
    engine = None
    if backend == "zero-shot":
        from nlp.topics import TopicMatcher
        from nlp.transformer import DEFAULT_ZERO_SHOT_MODEL, TransformerUnavailable, ZeroShotTopics

        try:
            engine = ZeroShotTopics(
                TopicMatcher().topics, model or DEFAULT_ZERO_SHOT_MODEL, threshold=threshold
            )
        except TransformerUnavailable as exc:
            err.print(f"[red]Backend unavailable[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None
    _run_eval(evaluate_topics, csv_path, text_col, label_col, backend=engine)


@app.command("nlp")
def nlp_command(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text column.")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    out: Annotated[Path | None, typer.Option(help="Write JSON lines here instead of to stdout.")] = None,
) -> None:
    """Run the NLP on any texts: one JSON object per input row, in input order.

    Fields: row, language, topics ({id, score}), sentiment, sentiment_score, trust.

    Example: betrokken nlp --csv mijn_teksten.csv --out verrijkt.jsonl
    """
    import json

    from nlp.evaluate import EvalInputError, read_csv_columns
    from nlp.pipeline import get_enricher

    try:
        rows = read_csv_columns(csv_path, [text_col])
    except EvalInputError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for i, result in enumerate(get_enricher().enrich([r[text_col] for r in rows])):
            record = {
                "row": i,
                "language": result.language,
                "topics": [{"id": h.id, "score": h.score} for h in result.topics],
                "sentiment": result.sentiment,
                "sentiment_score": result.sentiment_score,
                "trust": result.trust,
            }
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            handle.close()
    if out:
        err.print(f"{len(rows)} rows written to {out}")


models_app = typer.Typer(help="Transformer models for the optional backend.", no_args_is_help=True)
app.add_typer(models_app, name="models")


@models_app.command("download")
def models_download(
    sentiment: Annotated[str, typer.Option(help="Hugging Face id of the sentiment model.")] = "",
    zero_shot: Annotated[str, typer.Option(help="Hugging Face id of the multilingual NLI model.")] = "",
    cache_dir: Annotated[
        Path | None, typer.Option(help="Where to keep them (default: the HF cache).")
    ] = None,
) -> None:
    """Fetch the transformer models once, on a machine with internet; runs then load them offline.

    Example: betrokken models download --cache-dir /srv/betrokken/models
    """
    from nlp.transformer import DEFAULT_SENTIMENT_MODEL, DEFAULT_ZERO_SHOT_MODEL

    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        err.print("models download needs the extra: pip install 'betrokken[transformers]'")
        raise typer.Exit(EXIT_CONFIG) from None
    failed = 0
    for repo in (sentiment or DEFAULT_SENTIMENT_MODEL, zero_shot or DEFAULT_ZERO_SHOT_MODEL):
        try:
            path = snapshot_download(repo, cache_dir=str(cache_dir) if cache_dir else None)
            console.print(f"{repo}: {path}")
        except Exception as exc:  # network, authentication or a wrong id: report and go on
            failed += 1
            err.print(f"[red]{repo}: not downloaded[/red] ({type(exc).__name__}: {escape(str(exc)[:200])})")
    if failed:
        raise typer.Exit(EXIT_FAILED)


EvidenceOption = Annotated[
    str,
    typer.Option(
        "--evidence",
        help="shipped (the fit that ships with the model), handset (the profile file alone) "
        "or a file from `betrokken label fit`.",
    ),
]


def _evidence(model: Any, evidence: str) -> Any:
    from profiles.evidence import evidence_for
    from profiles.fit import FitError

    try:
        return evidence_for(model, evidence)
    except FitError as exc:
        err.print(f"[red]Input error[/red] --evidence: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None


def _labelled(evidence: Any, path: Path, text_col: str, voice_col: str | None, label_col: str) -> Any:
    from nlp.pipeline import get_enricher
    from profiles.adhoc import LabelledInputError, read_labelled_voices

    try:
        labelled = read_labelled_voices(get_enricher(), evidence, path, text_col, voice_col, label_col)
    except LabelledInputError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if labelled.n_not_dutch:
        err.print(f"{path}: {_plural(labelled.n_not_dutch, 'labelled voice')} without a Dutch post left out")
    return labelled


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@app.command()
def estimate(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text column.")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    author_col: Annotated[str | None, typer.Option(help="Column that groups rows into voices.")] = None,
    channel_col: Annotated[str | None, typer.Option(help="Column with the channel (e.g. r/utrecht).")] = None,
    model: Annotated[str, typer.Option(help="Profile model id or file.")] = "citisens",
    method: Annotated[
        str | None,
        typer.Option(
            help="bayes (default), cc, pcc, emq, map; with a fit's calibration also acc, pacc, kdey."
        ),
    ] = None,
    evidence: EvidenceOption = EVIDENCE_SHIPPED,
) -> None:
    """Estimate profile shares for any table of texts, without touching the warehouse.

    Uses the same evidence and method as the nightly run by default. Prints the share table and,
    as the last line, one JSON object with method, n_voices and profiles ({id, share, lower, upper,
    population_share, representation_index, status, status_reason}). Author names are only used
    to group rows and are never printed.

    Example: betrokken estimate --csv export.csv --author-col auteur
    """
    import json

    from nlp.evaluate import EvalInputError, read_csv_columns
    from nlp.pipeline import get_enricher
    from profiles.adhoc import estimate_texts
    from profiles.estimate import ALL_METHODS, DEFAULT_METHOD, NEEDS_CALIBRATION

    columns = [text_col, *(c for c in (author_col, channel_col) if c)]
    try:
        rows = read_csv_columns(csv_path, columns)
        profile_model = load_model(model)
    except (EvalInputError, ProfileModelError) as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    evidence_model = _evidence(profile_model, evidence)
    allowed = [m for m in ALL_METHODS if m not in NEEDS_CALIBRATION or evidence_model.calibration is not None]
    if method is not None and method not in allowed:
        err.print(
            f"--method: expected one of {', '.join(allowed)} (acc, pacc and kdey need the calibration of "
            f"a fitted evidence file), got {method!r}",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    result = estimate_texts(
        get_enricher(),
        evidence_model,
        [r[text_col] for r in rows],
        authors=[r[author_col] for r in rows] if author_col else None,
        channels=[r[channel_col] for r in rows] if channel_col else None,
        method=method,
    )
    used = result.estimate.method if result.estimate else (method or DEFAULT_METHOD)
    table = Table(
        title=f"{result.n_voices} voices from {result.n_dutch} Dutch of {result.n_rows} rows; method {used}",
        title_justify="left",
    )
    for column in ("profile", "population", "share (90% interval)", "index", "status"):
        table.add_column(column)
    for g in result.gap:
        share = (
            "–"
            if g.online_share is None
            else f"{g.online_share:.0%} ({g.online_lower:.0%}–{g.online_upper:.0%})"
        )
        index = "–" if g.representation_index is None else f"{g.representation_index:.2f}"
        assumed = " (assumed)" if g.population_share_is_assumption else ""
        table.add_row(g.profile_name, f"{g.population_share:.0%}{assumed}", share, index, g.status)
    console.print(table)
    payload = {
        "method": used,
        "n_voices": result.n_voices,
        "profile_model": profile_model.id,
        "profiles": [
            {
                "id": g.profile_id,
                "share": g.online_share,
                "lower": g.online_lower,
                "upper": g.online_upper,
                "population_share": g.population_share,
                "representation_index": g.representation_index,
                "status": g.status,
                "status_reason": g.status_reason,
            }
            for g in result.gap
        ],
    }
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")


label_app = typer.Typer(
    help="Label voices to calibrate and check the profile estimates.", no_args_is_help=True
)
app.add_typer(label_app, name="label")


def _label_context(config: Path | None, warehouse: Path | None) -> tuple[Path, Any, int, Any]:
    """Warehouse path, evidence model, period length and NLP version from the config or defaults."""
    from nlp.version import BackendOptions, nlp_version
    from profiles.evidence import evidence_for

    if config is not None:
        settings = _check_config(config)
        path = warehouse or settings.warehouse.path
        return (
            path,
            evidence_for(load_model(settings.profile_model), settings.estimation.evidence),
            settings.estimation.period_days,
            nlp_version(settings.nlp.backend_options()),
        )
    path = warehouse or Path("betrokken-demo/warehouse.duckdb")
    return path, evidence_for(load_model("citisens")), 90, nlp_version(BackendOptions())


CONFIG_OPTION = typer.Option("--config", "-c", help="Configuration (warehouse, profile model, period).")
WAREHOUSE_HELP = "Warehouse file (default: from --config, else ./betrokken-demo/warehouse.duckdb)."


@label_app.command("export")
def label_export(
    n: Annotated[int, typer.Option("--n", min=1, help="How many voices to sample.")] = 300,
    out: Annotated[Path, typer.Option(help="CSV to write.")] = Path("labels.csv"),
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD (default today).")
    ] = None,
    config: Annotated[Path | None, CONFIG_OPTION] = None,
    warehouse: Annotated[Path | None, typer.Option(help=WAREHOUSE_HELP)] = None,
) -> None:
    """Write a stratified sample of voices with their texts and an empty profile column.

    The file has a random voice id per voice, never an author key or a predicted profile.

    Example: betrokken label export --n 300 --out labels.csv
    """
    from datetime import UTC, datetime

    from warehouse.db import connect
    from warehouse.labels import export_sample

    path, evidence, days, version = _label_context(config, warehouse)
    day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    with connect(path) as con:
        count = export_sample(con, evidence, version, day, days, n, out)
    console.print(
        f"{count} voices written to {out}; fill in the profile column with one of: "
        f"{', '.join(evidence.model.profile_ids)}"
    )


@label_app.command("import")
def label_import(
    csv_path: Annotated[Path, typer.Argument(help="The labelled CSV from label export.")],
    config: Annotated[Path | None, CONFIG_OPTION] = None,
    warehouse: Annotated[Path | None, typer.Option(help=WAREHOUSE_HELP)] = None,
) -> None:
    """Store researchers' labels; from 30 labelled voices on, estimates are calibrated with them (PACC).

    Example: betrokken label import labels.csv
    """
    from warehouse.db import connect
    from warehouse.labels import LabelError, import_labels

    path, evidence, _, _ = _label_context(config, warehouse)
    try:
        with connect(path) as con:
            count = import_labels(con, csv_path, evidence.model.profile_ids, evidence.model.id)
    except LabelError as exc:
        err.print(f"[red]Label error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    console.print(f"{count} labels stored for profile model {evidence.model.id}")


@eval_app.command("profiles")
def eval_profiles(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="Labelled voices to measure on (the protocol).")
    ] = None,
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "text",
    voice_col: Annotated[str, typer.Option(help="Column that groups rows into voices.")] = "voice",
    label_col: Annotated[str, typer.Option(help="Column with the profile id.")] = "profile",
    fit_csv: Annotated[
        Path | None, typer.Option("--fit-csv", help="Labelled voices to fit the evidence on first.")
    ] = None,
    mixes: Annotated[int, typer.Option("--mixes", min=2, help="Profile mixes to draw.")] = 200,
    voices: Annotated[int, typer.Option("--voices", min=10, help="Voices drawn per mix.")] = 150,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the mixes and draws.")] = 0,
    model: Annotated[str, typer.Option(help="Profile model id or file.")] = "citisens",
    evidence: EvidenceOption = EVIDENCE_HANDSET,
    config: Annotated[Path | None, CONFIG_OPTION] = None,
    warehouse: Annotated[Path | None, typer.Option(help=WAREHOUSE_HELP)] = None,
) -> None:
    """How good the profile shares are, measured on labelled voices with known mixes.

    With --csv: the artificial-prevalence protocol. It draws --mixes profile mixes (half around the
    population shares, half strongly shifted), --voices voices for each from the CSV, estimates
    the shares with every method and prints per method: MAE, MAE of the population shares alone,
    their ratio, 90% coverage, false alarms, false reassurance, per-voice top-1 and log loss. The
    last line is one JSON object for the default method, with all methods under "methods". Fit on
    one set (--fit-csv) and measure on another; without --fit-csv the hand-set profile file is
    measured (--evidence to measure another fit: never on voices it was fitted on).

    Without --csv: the confusion matrix of the evidence model on the voices labelled in the
    warehouse (`label export` / `label import`).

    Example: betrokken eval profiles --csv writer_b.csv --fit-csv writer_a.csv
    """
    if csv_path is None:
        _eval_warehouse_labels(config, warehouse)
        return
    import json

    from profiles.fit import FitError, fit_evidence
    from profiles.protocol import default_first, evaluate

    try:
        profile_model = load_model(model)
    except ProfileModelError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    evidence_model = _evidence(profile_model, EVIDENCE_HANDSET if fit_csv else evidence)
    if fit_csv is not None:
        from profiles.evidence import EvidenceModel

        train = _labelled(evidence_model, fit_csv, text_col, voice_col, label_col)
        try:
            fitted = fit_evidence(profile_model, train.voices, source=str(fit_csv))
        except FitError as exc:
            err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
            raise typer.Exit(EXIT_CONFIG) from None
        evidence_model = EvidenceModel(profile_model, fitted)
    elif evidence_model.fitted is not None:
        source = evidence_model.fitted.provenance.get("source", "?")
        err.print(f"The evidence was fitted on {escape(str(source))}: never measure it on those voices.")
    measured = _labelled(evidence_model, csv_path, text_col, voice_col, label_col)
    if fit_csv is not None and (fit_csv.resolve() == csv_path.resolve() or train.keys & measured.keys):
        err.print(
            f"[red]Input error[/red] --fit-csv {fit_csv} and --csv {csv_path} share voices: a figure "
            "measured on the voices fitted on says nothing; measure on another set",
            highlight=False,
        )
        raise typer.Exit(EXIT_CONFIG)
    scores = default_first(
        evaluate(evidence_model, measured.voices, n_mixes=mixes, n_voices=voices, seed=seed)
    )
    fitted_on = f"fitted on {fit_csv}" if fit_csv else f"evidence: {evidence}"
    table = Table(
        title=f"{len(measured.voices)} labelled voices, {mixes} mixes of {voices}; {fitted_on}",
        title_justify="left",
    )
    columns = ("method", "MAE", "MAE prior", "ratio", "coverage", "false alarm", "false reass.", "unknown")
    for column in columns:
        table.add_column(column, justify="left" if column == "method" else "right")
    for s in scores:
        table.add_row(
            s.method,
            f"{s.mae:.4f}",
            f"{s.mae_prior:.4f}",
            f"{s.mae_ratio:.2f}",
            f"{s.coverage:.3f}",
            f"{s.false_alarm:.3f}",
            f"{s.false_reassurance:.3f}",
            f"{s.unknown:.2f}",
        )
    console.print(table)
    console.print(f"per voice: top-1 {scores[0].top1:.3f}, log loss {scores[0].log_loss:.3f}")
    payload = {**scores[0].as_dict(), "methods": [s.as_dict() for s in scores]}
    sys.stdout.write(json.dumps(payload) + "\n")


@label_app.command("fit")
def label_fit(
    csv_path: Annotated[Path, typer.Option("--csv", help="Labelled voices (e.g. a filled-in label export).")],
    out: Annotated[Path, typer.Option(help="Fitted evidence file to write (.npz).")],
    text_col: Annotated[str, typer.Option(help="Column with the text.")] = "texts",
    voice_col: Annotated[str, typer.Option(help="Column that groups rows into voices.")] = "voice_id",
    label_col: Annotated[str, typer.Option(help="Column with the profile id.")] = "profile",
    model: Annotated[str, typer.Option(help="Profile model id or file.")] = "citisens",
    source: Annotated[
        str | None,
        typer.Option(help="Where the labels come from, kept in the file (default: the CSV's name)."),
    ] = None,
) -> None:
    """Fit the profile evidence on labelled voices; use it with `[estimation] evidence = "FILE"`.

    The profile file's ratios are the prior; the file keeps the fitted weights and cross-fitted
    posteriors of the labelled voices (no text, no author). Measure a fit with
    `eval profiles --fit-csv` on voices it was not fitted on.

    Example: betrokken label fit --csv labels.csv --out data/citisens.fit.npz
    """
    from profiles.fit import FitError, fit_evidence

    try:
        profile_model = load_model(model)
    except ProfileModelError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    voices = _labelled(
        _evidence(profile_model, EVIDENCE_HANDSET), csv_path, text_col, voice_col, label_col
    ).voices
    try:
        fitted = fit_evidence(profile_model, voices, source=source or csv_path.name)
    except FitError as exc:
        err.print(f"[red]Input error[/red] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    try:
        fitted.save(out)
    except OSError as exc:
        err.print(f"[red]Output error[/red] --out {out}: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_CONFIG) from None
    console.print(
        f"fitted on {len(voices)} labelled voices ({fitted.provenance['per_profile']}); written to {out}"
    )


def _eval_warehouse_labels(config: Path | None, warehouse: Path | None) -> None:
    """Confusion matrix and accuracy of the evidence model on the voices labelled in the warehouse."""
    import json

    import numpy as np

    from warehouse.db import connect
    from warehouse.labels import labelled_posteriors

    path, evidence, _, _ = _label_context(config, warehouse)
    with connect(path) as con:
        posteriors, labels = labelled_posteriors(con, evidence)
    ids = evidence.model.profile_ids
    if len(labels) == 0:
        err.print(
            "No labelled voices yet: run `betrokken label export`, fill in the file, then `label import`."
        )
        raise typer.Exit(EXIT_FAILED)
    predicted = posteriors.argmax(axis=1)
    confusion = np.zeros((len(ids), len(ids)), dtype=int)
    for truth, guess in zip(labels, predicted, strict=True):
        confusion[truth, guess] += 1
    accuracy = float((predicted == labels).mean())
    table = Table(
        title=f"{len(labels)} labelled voices, accuracy {accuracy:.3f} (rows: label, columns: evidence)",
        title_justify="left",
    )
    table.add_column("label")
    for pid in ids:
        table.add_column(pid[:6], justify="right")
    for i, pid in enumerate(ids):
        table.add_row(pid, *(str(v) for v in confusion[i]))
    console.print(table)
    sys.stdout.write(
        json.dumps(
            {
                "task": "profiles",
                "n": len(labels),
                "accuracy": round(accuracy, 4),
                "labels": ids,
                "confusion": confusion.tolist(),
            }
        )
        + "\n"
    )


def _warehouse_path(warehouse: Path | None, config: Path | None) -> Path:
    if warehouse is not None:
        return warehouse
    if config is not None:
        return _check_config(config).warehouse.path
    return Path("betrokken-demo/warehouse.duckdb")


@app.command()
def gap(
    municipality: Annotated[str | None, typer.Option(help="Municipality id; default all.")] = None,
    topic: Annotated[str | None, typer.Option(help="Topic id; default all topics together.")] = None,
    period: Annotated[str | None, typer.Option(help="Period length such as 90d; default the latest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    warehouse: Annotated[
        Path | None,
        typer.Option(help="Warehouse file (default: from --config, else ./betrokken-demo/warehouse.duckdb)."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse from here.")
    ] = None,
) -> None:
    """Print the reach gap per profile from the warehouse (the view v_reach_gap).

    Example: betrokken gap --municipality utrecht --topic wonen --json
    """
    import json

    from warehouse.db import WarehouseError, connect

    days = _period_days(period)
    path = _warehouse_path(warehouse, config)
    try:
        con = connect(path, read_only=True)
    except WarehouseError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_FAILED) from None
    with con:
        sql = (
            "SELECT * FROM v_reach_gap WHERE channel IS NULL "
            "AND ($m IS NULL OR municipality = $m) AND topic IS NOT DISTINCT FROM $t "
            "AND ($d IS NULL OR date_diff('day', period_start, period_end) + 1 = $d) "
            "AND period_end = (SELECT max(period_end) FROM v_reach_gap) "
            "ORDER BY municipality, population_share DESC, profile_id"
        )
        cursor = con.execute(sql, {"m": municipality, "t": topic, "d": days})
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    if as_json:
        sys.stdout.write(json.dumps(rows, default=str, ensure_ascii=False) + "\n")
        return
    if not rows:
        console.print("No estimates for that selection (run the nightly job first, or check the ids).")
        return
    table = Table(
        title=f"Reach gap, {rows[0]['period_start']} to {rows[0]['period_end']}"
        f"{', topic ' + topic if topic else ''}",
        title_justify="left",
    )
    for column in ("municipality", "profile", "voices", "population", "online (interval)", "index", "status"):
        table.add_column(column)
    for r in rows:
        pop = f"{r['population_share']:.0%}" + (" (assumed)" if r["population_share_is_assumption"] else "")
        online = (
            "–"
            if r["online_share"] is None
            else (f"{r['online_share']:.0%} ({r['online_lower']:.0%}–{r['online_upper']:.0%})")
        )
        index = "–" if r["representation_index"] is None else f"{r['representation_index']:.2f}"
        status = _status_text(r["status"], r.get("status_reason"))
        table.add_row(r["municipality"], r["profile_name"], str(r["n_voices"]), pop, online, index, status)
    console.print(table)


def _period_days(period: str | None) -> int | None:
    if period is None:
        return None
    if not period.endswith("d") or not period[:-1].isdigit() or int(period[:-1]) == 0:
        err.print(f"--period: expected a number of days such as 30d or 90d, got {period!r}")
        raise typer.Exit(EXIT_CONFIG)
    return int(period[:-1])


@app.command()
def report(
    warehouse: Annotated[
        Path | None,
        typer.Option(help="Warehouse file (default: from --config, else ./betrokken-demo/warehouse.duckdb)."),
    ] = None,
    municipality: Annotated[str | None, typer.Option(help="Municipality id; default all.")] = None,
    period: Annotated[
        str | None,
        typer.Option(help="Period such as 30d or 90d, ending on the as-of date; default the latest."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the report: nl or en.")] = "nl",
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD; default the latest run's.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Take the warehouse and the estimation thresholds from here."),
    ] = None,
) -> None:
    """Write the reach-gap report (one self-contained HTML file) from the warehouse.

    A period the nightly run did not estimate is estimated in memory; nothing is written to the
    warehouse. Example: betrokken report --warehouse data/warehouse.duckdb --period 30d --lang en
    """
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from warehouse.db import WarehouseError, connect
    from warehouse.report import LANGUAGES, ReportError, ReportRequest, write_report

    if lang not in LANGUAGES:
        err.print(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
        raise typer.Exit(EXIT_CONFIG)
    day = _as_of(as_of)
    settings = _check_config(config) if config is not None else None
    estimation = estimate_settings(settings.estimation if settings else Estimation())
    path = _warehouse_path(warehouse, config)
    request = ReportRequest(as_of=day, period_days=_period_days(period), municipality=municipality, lang=lang)
    try:
        with connect(path, read_only=True) as con:
            written = write_report(con, out, request, estimation)
    except (WarehouseError, ReportError) as exc:
        err.print(f"[red]No report[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    console.print(f"report: {written.resolve()}")


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement (DuckDB dialect).")],
    warehouse: Annotated[
        Path | None,
        typer.Option(
            help="Warehouse file whose snapshot to query (default: ./betrokken-demo/warehouse.duckdb)."
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse from here.")
    ] = None,
) -> None:
    """Query the researchers' read-only snapshot of the warehouse (never the live file).

    The snapshot holds the views v_posts, v_enrichment, v_topic_daily, v_sentiment_daily,
    v_reach_gap and the tables listed in docs/warehouse.md. Example:
    betrokken sql "SELECT profile_name, status FROM v_reach_gap WHERE topic IS NULL" --format csv
    """
    import csv
    import json

    import duckdb

    from warehouse.publish import snapshot_path

    if output not in ("table", "csv", "json"):
        err.print(f"--format: expected table, csv or json, got {output!r}")
        raise typer.Exit(EXIT_CONFIG)
    path = _warehouse_path(warehouse, config)
    snapshot = path if path.name.endswith(".snapshot.duckdb") else snapshot_path(path)
    if not snapshot.exists():
        err.print(
            f"[red]No snapshot[/red] at {snapshot}: it is written at the end of every run; run one first."
        )
        raise typer.Exit(EXIT_FAILED)
    try:
        with duckdb.connect(str(snapshot), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            cursor = con.execute(query)
            names = [d[0] for d in cursor.description or []]
            rows = cursor.fetchall() if names else []
    except duckdb.Error as exc:
        err.print(f"[red]Query failed[/red]: {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    if output == "json":
        records = [dict(zip(names, row, strict=True)) for row in rows]
        sys.stdout.write(json.dumps(records, default=str, ensure_ascii=False) + "\n")
    elif output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        table = Table(title=f"{len(rows)} rows", title_justify="left")
        for name in names:
            table.add_column(name)
        for row in rows:
            table.add_row(*("NULL" if v is None else escape(str(v)) for v in row))
        console.print(table)


def _maintenance_target(warehouse: Path | None, config: Path | None) -> tuple[Path, Path]:
    """The warehouse and the author key file a maintenance command works on."""
    if config is not None:
        settings = _check_config(config)
        return settings.warehouse.path, settings.key_file()
    path = _warehouse_path(warehouse, None)
    return path, path.parent / "betrokken.key"


@contextmanager
def _exclusive(path: Path) -> Iterator[Any]:
    """The run lock and a writable connection; exits 4 while a nightly run holds the warehouse."""
    from warehouse.db import WarehouseError, connect
    from warehouse.lock import RunInProgress, RunLock

    if not path.exists():
        err.print(f"[red]No warehouse[/red] at {path}")
        raise typer.Exit(EXIT_FAILED)
    try:
        with RunLock(path), connect(path) as con:
            yield con
    except RunInProgress as exc:
        err.print(f"[yellow]Not done[/yellow]: {exc}; try again when it has finished", highlight=False)
        raise typer.Exit(EXIT_BUSY) from None
    except WarehouseError as exc:
        err.print(f"[red]{escape(str(exc))}[/red]")
        raise typer.Exit(EXIT_FAILED) from None


@app.command()
def purge(
    older_than: Annotated[
        int, typer.Option("--older-than", min=0, help="Purge text of items older than DAYS.")
    ],
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file (default: from --config).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse from here.")
    ] = None,
) -> None:
    """Remove the raw text (title and body) of items older than DAYS; enrichment and aggregates stay.

    The nightly run does this itself with retention_days; the researchers' snapshot and Parquet
    export are rewritten so the text leaves them too. Example: betrokken purge --older-than 90 -c FILE
    """
    from warehouse.privacy import purge_text
    from warehouse.publish import publish

    path, _ = _maintenance_target(warehouse, config)
    with _exclusive(path) as con:
        purged = purge_text(con, older_than)
        publish(con, path)
    console.print(
        f"purged the text of {purged} items older than {older_than} days; snapshot and export rewritten"
    )


@app.command()
def forget(
    source_id: Annotated[
        str | None, typer.Option("--source-id", help="An item id, e.g. reddit:t1_abc or t1_abc.")
    ] = None,
    author: Annotated[
        str | None, typer.Option("--author", help="An author name as it appears at the source.")
    ] = None,
    warehouse: Annotated[Path | None, typer.Option(help="Warehouse file (default: from --config).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Take the warehouse and key from here.")
    ] = None,
) -> None:
    """Erase one item, or everything from one author, from the warehouse, snapshot and export.

    The name is hashed with the author key (never stored or printed); its items and all that was
    derived from them are deleted, and the item or author is never stored again. Aggregates are
    recomputed on the next run. Example: betrokken forget --author "some_user" -c betrokken.toml
    """
    from sources.pseudonym import Pseudonymiser, load_key
    from warehouse.privacy import erase_posts, posts_by_id, posts_of_author
    from warehouse.publish import publish

    if (source_id is None) == (author is None):
        err.print("give exactly one of --source-id or --author")
        raise typer.Exit(EXIT_CONFIG)
    path, key_file = _maintenance_target(warehouse, config)
    author_key = None
    if author is not None:
        if not key_file.exists() and not os.environ.get("BETROKKEN_AUTHOR_KEY"):
            err.print(f"[red]No author key[/red] at {key_file}: without it no name can be matched")
            raise typer.Exit(EXIT_FAILED)
        author_key = Pseudonymiser(load_key(key_file)).author_key(author)
        if author_key is None:
            err.print("--author: give a real author name")
            raise typer.Exit(EXIT_CONFIG)
    with _exclusive(path) as con:
        ids = posts_of_author(con, author_key) if author_key else posts_by_id(con, source_id or "")
        erased = erase_posts(con, ids, author_key=author_key)
        publish(con, path)
    what = "that author" if author_key else f"item {source_id}"
    console.print(
        f"erased {erased.posts} items of {what} and {erased.derived_rows} derived rows; "
        f"{erased.duplicates_released} copies by others kept; snapshot and export rewritten"
    )


@app.command()
def serve(
    config: Annotated[Path, typer.Option("--config", "-c", help="The TOML configuration file.")],
    cron: Annotated[str, typer.Option(help="When to run, in Europe/Amsterdam time.")] = "0 2 * * *",
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Serve the nightly job as a Prefect deployment on a cron schedule (Europe/Amsterdam).

    Needs a Prefect server (prefect server start) and PREFECT_API_URL pointing to it; this process
    then runs every scheduled run until stopped. Example: betrokken serve -c betrokken.toml
    """
    from prefect import serve as prefect_serve
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    from flows.schedule import TIME_ZONE, nightly_deployment

    _check_config(config)
    try:
        CronSchedule(cron=cron, timezone=TIME_ZONE)
    except ValidationError:
        err.print(f"--cron: not a cron expression: {cron!r} (example: '0 2 * * *' is 02:00 every night)")
        raise typer.Exit(EXIT_CONFIG) from None
    params = _runner_params(runner, workers, dask_address)
    deployment = nightly_deployment(config, cron, params["runner"], params["dask_address"])
    console.print(f"serving deployment betrokken-nightly/{deployment.name}, cron {cron!r} {TIME_ZONE}")
    prefect_serve(deployment)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
