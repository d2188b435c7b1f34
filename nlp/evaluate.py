"""Evaluation of sentiment and topics on a labelled CSV: a researcher's own, or a real set (nlp.realsets).

Metrics are computed here (accuracy, per-class precision/recall/F1, macro F1) rather than pulled
from a machine-learning library: they are a few lines, and the tool stays light to install.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common.csvfile import CsvError, parse_decimal, read_csv

if TYPE_CHECKING:  # reading a CSV (nlp, estimate, the benches) need not import spaCy
    from nlp.pipeline import Enricher

SENTIMENT_LABELS = {
    "neg": "negative",
    "negative": "negative",
    "negatief": "negative",
    "neu": "neutral",
    "neutral": "neutral",
    "neutraal": "neutral",
    "pos": "positive",
    "positive": "positive",
    "positief": "positive",
}
# Gold labels given as numbers, however a spreadsheet writes them ("1", "+1", "-1.0", "-1,0").
NUMERIC_SENTIMENT = {-1.0: "negative", 0.0: "neutral", 1.0: "positive"}


@dataclass(frozen=True, slots=True)
class Scored:
    """A sentiment prediction in the shape an Enrichment has: a label and a score in [-1, 1]."""

    sentiment: str
    sentiment_score: float


class EvalInputError(Exception):
    """The CSV cannot be evaluated; the message names the file, row or column and the fix."""


def read_csv_columns(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    """Rows of a CSV (``common.csvfile.read_csv``: UTF-8 or Windows-1252, ``,``, ``;`` or tab) with
    the named columns present."""
    try:
        return read_csv(
            path, columns, hint="Name the columns with the command's --*-col options (see --help)."
        )
    except CsvError as exc:
        raise EvalInputError(str(exc)) from None


@dataclass
class ClassReport:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    task: str
    backend: str
    n: int
    accuracy: float
    macro_f1: float
    docs_per_s: float
    per_class: list[ClassReport] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "task": self.task,
            "backend": self.backend,
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "docs_per_s": round(self.docs_per_s, 1),
            "per_class": {
                c.label: {
                    "precision": round(c.precision, 4),
                    "recall": round(c.recall, 4),
                    "f1": round(c.f1, 4),
                    "support": c.support,
                }
                for c in self.per_class
            },
        }
        out.update(self.extra)
        return out


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _timed(predict: Any, texts: list[str]) -> tuple[list[Any], float]:
    """Results of ``predict(texts)`` and its throughput in texts per second."""
    started = time.perf_counter()
    results = list(predict(texts))
    return results, len(texts) / max(time.perf_counter() - started, 1e-9)


def parse_sentiment(value: str, row: int, path: Path) -> str:
    label = SENTIMENT_LABELS.get(value.strip().lower())
    if label is None:
        with suppress(ValueError):
            label = NUMERIC_SENTIMENT.get(parse_decimal(value))
    if label is None:
        raise EvalInputError(
            f"{path}: row {row + 1}: sentiment label {value!r} is not one of -1/0/1, neg/neu/pos or "
            "negative/neutral/positive"
        )
    return label


def _labelled_rows(path: Path, text_col: str, label_col: str) -> list[dict[str, str]]:
    rows = read_csv_columns(path, [text_col, label_col])
    if not rows:
        raise EvalInputError(f"{path}: no rows to evaluate")
    return rows


def _class_report(label: str, pairs: list[tuple[bool, bool]]) -> ClassReport:
    """Precision, recall and F1 of one class from (in gold, in prediction) per item."""
    tp = sum(1 for g, p in pairs if g and p)
    fp = sum(1 for g, p in pairs if p and not g)
    fn = sum(1 for g, p in pairs if g and not p)
    return ClassReport(label, *_prf(tp, fp, fn), support=sum(1 for g, _ in pairs if g))


def _sentiment_metrics(
    gold: Sequence[str], predicted: Sequence[str], classes: Sequence[str]
) -> tuple[float, float, list[ClassReport]]:
    """Accuracy, macro F1 over ``classes`` and the per-class figures of single-label predictions."""
    pairs = list(zip(gold, predicted, strict=True))
    per_class = [_class_report(label, [(g == label, p == label) for g, p in pairs]) for label in classes]
    accuracy = sum(1 for g, p in pairs if g == p) / len(pairs)
    return accuracy, sum(c.f1 for c in per_class) / len(per_class), per_class


def score_sentiment(gold: Sequence[str], results: Sequence[Any], backend: str, rate: float) -> EvalReport:
    """Figures of sentiment predictions (anything with ``sentiment`` and ``sentiment_score``) against gold.

    Three-way on the labels; binary when gold has only negative and positive, a text then counting as
    positive when its score is above 0. The majority-class baseline (always the most frequent gold
    class) comes with it: on an unbalanced set an accuracy means little without it.
    """
    classes = sorted(set(gold))
    binary = classes == ["negative", "positive"]
    if binary:
        predicted = ["positive" if r.sentiment_score > 0 else "negative" for r in results]
    else:
        predicted = [r.sentiment for r in results]
        classes = ["negative", "neutral", "positive"]
    accuracy, macro, per_class = _sentiment_metrics(gold, predicted, classes)
    counts = Counter(gold)
    majority = max(classes, key=lambda label: (counts[label], label))
    base_accuracy, base_macro, _ = _sentiment_metrics(gold, [majority] * len(gold), classes)
    return EvalReport(
        "sentiment",
        backend,
        len(gold),
        accuracy,
        macro,
        rate,
        per_class,
        {
            "mode": "binary" if binary else "three-way",
            "majority_baseline": {
                "label": majority,
                "accuracy": round(base_accuracy, 4),
                "macro_f1": round(base_macro, 4),
            },
        },
    )


def evaluate_sentiment(
    enricher: Enricher, path: Path, text_col: str = "text", label_col: str = "label", backend: Any = None
) -> EvalReport:
    """Sentiment figures on a labelled CSV (see ``score_sentiment``).

    ``backend`` (e.g. a TransformerSentiment) replaces the enricher's sentiment (the lexicon, or the
    learnt model); its throughput is then measured.
    """
    rows = _labelled_rows(path, text_col, label_col)
    gold = [parse_sentiment(r[label_col], i, path) for i, r in enumerate(rows)]
    texts = [r[text_col] for r in rows]
    if backend is None:
        results, rate = _timed(enricher.enrich, texts)
    else:
        predictions, rate = _timed(backend.predict, texts)
        results = [Scored(r.label, r.score) for r in predictions]
    name = enricher.sentiment_scorer.name if backend is None else backend.name
    return score_sentiment(gold, results, name, rate)


def no_topic_share(predicted: Sequence[set[str]]) -> float:
    """Share of texts that got no topic at all."""
    return sum(1 for p in predicted if not p) / len(predicted) if predicted else 0.0


def top_topic_accuracy(gold: Sequence[set[str]], top: Sequence[str | None]) -> float:
    """Of the texts with a gold topic, the share whose best predicted topic (highest score) is one of
    them; a text without a prediction counts as wrong."""
    pairs = [(g, t) for g, t in zip(gold, top, strict=True) if g]
    return sum(1 for g, t in pairs if t in g) / len(pairs) if pairs else 0.0


def score_topics(
    gold: Sequence[set[str]],
    predicted: Sequence[set[str]],
    topics: Sequence[str],
    backend: str,
    rate: float,
    top: Sequence[str | None] | None = None,
) -> EvalReport:
    """Multi-label figures over ``topics``: per topic, micro over all, accuracy = exactly the gold set;
    with ``top`` (each text's best topic, None without one) also ``top_topic_accuracy``.

    Predicted topics outside ``topics`` are left out, as gold cannot say whether they are right (a set
    labelled with only some of the taxonomy); ``no_topic_share`` counts every prediction.
    """
    scope = set(topics)
    kept = [p & scope for p in predicted]
    pairs = list(zip(gold, kept, strict=True))
    per_class = [_class_report(topic, [(topic in g, topic in p) for g, p in pairs]) for topic in topics]
    tp = sum(len(g & p) for g, p in pairs)
    fp = sum(len(p - g) for g, p in pairs)
    fn = sum(len(g - p) for g, p in pairs)
    micro_p, micro_r, micro_f1 = _prf(tp, fp, fn)
    exact = sum(1 for g, p in pairs if g == p) / len(pairs)
    with_support = [c for c in per_class if c.support]
    macro = sum(c.f1 for c in with_support) / len(with_support) if with_support else 0.0
    return EvalReport(
        "topics",
        backend,
        len(pairs),
        exact,
        macro,
        rate,
        per_class,
        {
            "micro_precision": round(micro_p, 4),
            "micro_recall": round(micro_r, 4),
            "micro_f1": round(micro_f1, 4),
            "no_topic_share": round(no_topic_share(predicted), 4),
        }
        | ({} if top is None else {"top_topic_accuracy": round(top_topic_accuracy(gold, top), 4)}),
    )


def topic_gold(
    rows: Sequence[dict[str, str]],
    label_col: str,
    known: Sequence[str],
    path: Path,
    label_map: Mapping[str, str | None] | None = None,
) -> list[set[str]]:
    """Gold topic sets: taxonomy ids separated by ';', or labels of another scheme through ``label_map``
    (a label mapped to None has no counterpart in the taxonomy and adds no topic)."""
    gold: list[set[str]] = []
    for i, row in enumerate(rows):
        labels = {t.strip() for t in row[label_col].split(";") if t.strip()}
        if label_map is not None:
            unknown = labels - set(label_map)
            if unknown:
                raise EvalInputError(
                    f"{path}: row {i + 1}: topic label(s) {sorted(unknown)} not in the mapping; "
                    f"mapped labels: {sorted(label_map)}"
                )
            labels = {target for label in labels if (target := label_map[label]) is not None}
        unknown = labels - set(known)
        if unknown:
            raise EvalInputError(
                f"{path}: row {i + 1}: unknown topic id(s) {sorted(unknown)}; known ids: {sorted(known)}"
            )
        gold.append(labels)
    return gold


def evaluate_topics(
    enricher: Enricher,
    path: Path,
    text_col: str = "text",
    label_col: str = "topic",
    backend: Any = None,
    label_map: Mapping[str, str | None] | None = None,
) -> EvalReport:
    """Topic figures on a labelled CSV (see ``score_topics``), over every taxonomy topic, or with
    ``label_map`` over the topics it maps onto.

    ``backend`` (e.g. a ZeroShotTopics) replaces the taxonomy matcher; its throughput is then measured.
    An enricher with the embedding topic head (``BackendOptions.topic_embeddings``) is measured whole.
    """
    rows = _labelled_rows(path, text_col, label_col)
    known = enricher.topics.ids
    gold = topic_gold(rows, label_col, known, path, label_map)
    texts = [r[text_col] for r in rows]
    if backend is None:
        results, rate = _timed(enricher.enrich, texts)
        ranked = [[h.id for h in r.topics] for r in results]
        name = "lexicon" if enricher.topic_fallback is None else "lexicon+embeddings"
    else:
        hits_per_text, rate = _timed(backend.predict, texts)
        ranked = [[topic for topic, _ in sorted(hits, key=lambda h: -h[1])] for hits in hits_per_text]
        name = "zero-shot"
    predicted = [set(r) for r in ranked]
    topics = sorted(known) if label_map is None else sorted({t for t in label_map.values() if t is not None})
    report = score_topics(gold, predicted, topics, name, rate, [r[0] if r else None for r in ranked])
    if label_map is not None:
        report.extra["label_map"] = dict(label_map)
    return report
