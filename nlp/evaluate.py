"""Evaluation of the NLP on a researcher's own labelled CSV: sentiment and topics.

Metrics are computed here (accuracy, per-class precision/recall/F1, macro F1) rather than pulled
from a machine-learning library: they are a few lines, and the tool stays light to install.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from common.csvfile import CsvError, parse_decimal, read_csv
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
class _Scored:
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


def evaluate_sentiment(
    enricher: Enricher, path: Path, text_col: str = "text", label_col: str = "label", backend: Any = None
) -> EvalReport:
    """Three-way accuracy; binary (positive when the score is above 0) when gold has two classes.

    ``backend`` (e.g. a TransformerSentiment) replaces the lexicon; its throughput is then measured.
    """
    rows = _labelled_rows(path, text_col, label_col)
    gold = [parse_sentiment(r[label_col], i, path) for i, r in enumerate(rows)]
    texts = [r[text_col] for r in rows]
    if backend is None:
        results, rate = _timed(enricher.enrich, texts)
    else:
        predictions, rate = _timed(backend.predict, texts)
        results = [_Scored(r.label, r.score) for r in predictions]
    classes = sorted(set(gold))
    binary = classes == ["negative", "positive"]
    if binary:
        predicted = ["positive" if r.sentiment_score > 0 else "negative" for r in results]
    else:
        predicted = [r.sentiment for r in results]
        classes = ["negative", "neutral", "positive"]
    pairs = list(zip(gold, predicted, strict=True))
    per_class = [_class_report(label, [(g == label, p == label) for g, p in pairs]) for label in classes]
    accuracy = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
    macro = sum(c.f1 for c in per_class) / len(per_class)
    return EvalReport(
        "sentiment",
        "lexicon" if backend is None else backend.name,
        len(gold),
        accuracy,
        macro,
        rate,
        per_class,
        {"mode": "binary" if binary else "three-way"},
    )


def evaluate_topics(
    enricher: Enricher, path: Path, text_col: str = "text", label_col: str = "topic", backend: Any = None
) -> EvalReport:
    """Multi-label per-topic precision, recall and F1; accuracy = share of posts with exactly the gold set.

    ``backend`` (e.g. a ZeroShotTopics) replaces the taxonomy matcher; its throughput is then measured.
    """
    rows = _labelled_rows(path, text_col, label_col)
    known = set(enricher.topics.ids)
    gold: list[set[str]] = []
    for i, row in enumerate(rows):
        labels = {t.strip() for t in row[label_col].split(";") if t.strip()}
        unknown = labels - known
        if unknown:
            raise EvalInputError(
                f"{path}: row {i + 1}: unknown topic id(s) {sorted(unknown)}; known ids: {sorted(known)}"
            )
        gold.append(labels)
    texts = [r[text_col] for r in rows]
    if backend is None:
        results, rate = _timed(enricher.enrich, texts)
        predicted = [{h.id for h in r.topics} for r in results]
    else:
        hits_per_text, rate = _timed(backend.predict, texts)
        predicted = [{topic for topic, _ in hits} for hits in hits_per_text]
    pairs = list(zip(gold, predicted, strict=True))
    per_class = [
        _class_report(topic, [(topic in g, topic in p) for g, p in pairs]) for topic in sorted(known)
    ]
    tp = sum(len(g & p) for g, p in zip(gold, predicted, strict=True))
    fp = sum(len(p - g) for g, p in zip(gold, predicted, strict=True))
    fn = sum(len(g - p) for g, p in zip(gold, predicted, strict=True))
    micro_p, micro_r, micro_f1 = _prf(tp, fp, fn)
    exact = sum(1 for g, p in zip(gold, predicted, strict=True) if g == p) / len(gold)
    with_support = [c for c in per_class if c.support]
    macro = sum(c.f1 for c in with_support) / len(with_support) if with_support else 0.0
    return EvalReport(
        "topics",
        "lexicon" if backend is None else "zero-shot",
        len(gold),
        exact,
        macro,
        rate,
        per_class,
        {
            "micro_precision": round(micro_p, 4),
            "micro_recall": round(micro_r, 4),
            "micro_f1": round(micro_f1, 4),
        },
    )
