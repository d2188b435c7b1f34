"""Fit the topic score (nlp/topics.py ScoreModel) and show how well calibrated it is.

The fit: a logistic regression of "is this topic one of the post's labelled topics?" on the
ScoreModel's features of every topic the matcher fires, over the development posts
(tests/data/nlp_dev.csv). It prints the weights for topics.yaml's `score` block. The check: on the
real headlines we labelled ourselves (bench/labels/, text in ``--real``), which the fit never saw,
the Brier score and log loss of the current score, of the weights just fitted, and of the score
before (1 - 0.5 ** words), and a reliability table (predicted probability against the share right).

The topics that fire do not depend on the score, so fitting never changes what it is fitted on.

Usage: python bench/topic_calibration.py [--real ../shared/nlp_dev]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import ROOT
from bench.topic_labels import load_samples

DEV_CSV = ROOT / "tests" / "data" / "nlp_dev.csv"
DEFAULT_REAL = ROOT.parent / "shared" / "nlp_dev"
RIDGE = 1.0  # a light L2 penalty on the weights (not the intercept): 273 hits, 4 weights


def hit_features(
    enricher: Any, texts: Sequence[str], gold: Sequence[set[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """ScoreModel features and right/wrong of every topic fired on ``texts``."""
    from nlp.topics import ScoreModel

    x, y = [], []
    for result, labels in zip(enricher.enrich(texts), gold, strict=True):
        total = sum(len(h.evidence) for h in result.topics)
        text_words = len(result.lower_text.split())
        for hit in result.topics:
            x.append(ScoreModel.features(len(hit.evidence), len(hit.evidence) / total, text_words))
            y.append(float(hit.id in labels))
    return np.array(x), np.array(y)


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression by Newton's method."""
    w = np.zeros(x.shape[1])
    penalty = np.diag(np.r_[0.0, np.full(x.shape[1] - 1, RIDGE)])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ w))
        step = np.linalg.solve((x.T * (p * (1 - p))) @ x + penalty, x.T @ (p - y) + penalty @ w)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return w


def losses(p: np.ndarray, y: np.ndarray) -> str:
    q = np.clip(p, 1e-6, 1 - 1e-6)
    log_loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return f"Brier {np.mean((p - y) ** 2):.3f}, log loss {log_loss:.3f}"


def reliability(p: np.ndarray, y: np.ndarray) -> None:
    print(f"  {'score':<11} {'topics':>6} {'mean score':>10} {'share right':>11}")
    for low, high in ((0.0, 0.5), (0.5, 0.75), (0.75, 0.9), (0.9, 1.01)):
        inside = (p >= low) & (p < high)
        if inside.any():
            print(
                f"  {low:.2f}-{min(high, 1):.2f}   {inside.sum():>6} {p[inside].mean():>10.3f} "
                f"{y[inside].mean():>11.3f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="folder of the real labelled sets")
    args = parser.parse_args()
    from nlp.evaluate import read_csv_columns, topic_gold
    from nlp.pipeline import get_enricher
    from nlp.topics import SCORE_MODEL

    enricher = get_enricher()
    rows = read_csv_columns(DEV_CSV, ["text", "topic"])
    x, y = hit_features(
        enricher, [r["text"] for r in rows], topic_gold(rows, "topic", enricher.topics.ids, DEV_CSV)
    )
    w = fit(x, y)
    names = ("intercept", "log_words", "share", "log_length")
    print(f"fitted on {len(y)} topics fired on {len(rows)} development posts ({y.mean():.3f} of them right):")
    print("  weights: {" + ", ".join(f"{n}: {v:.2f}" for n, v in zip(names, w, strict=True)) + "}")
    current = np.array([getattr(SCORE_MODEL, n) for n in names])
    scores = {
        "current score (topics.yaml)": current,
        "weights just fitted": w,
    }
    print("\ndevelopment posts (in-sample):")
    for name, weights in scores.items():
        print(f"  {name:<28} {losses(1 / (1 + np.exp(-x @ weights)), y)}")
    print(f"  {'1 - 0.5 ** words (before)':<28} {losses(1 - 0.5 ** np.exp(x[:, 1]), y)}")
    samples = [s for s in (load_samples(args.real) if args.real.is_dir() else []) if s.role == "measure"]
    if not samples:
        print(f"\n{args.real}: no labelled real text, so no out-of-sample check")
    for sample in samples:
        xs, ys = hit_features(enricher, sample.texts, [set(g) for g in sample.gold])
        print(f"\n{sample.name} ({len(sample.texts)} real texts, {len(ys)} topics fired, not fitted on):")
        for name, weights in scores.items():
            print(f"  {name:<28} {losses(1 / (1 + np.exp(-xs @ weights)), ys)}")
        print(f"  {'1 - 0.5 ** words (before)':<28} {losses(1 - 0.5 ** np.exp(xs[:, 1]), ys)}")
        reliability(1 / (1 + np.exp(-xs @ current)), ys)
    print("\ndevelopment posts, current score:")
    reliability(1 / (1 + np.exp(-x @ current)), y)


if __name__ == "__main__":
    main()
