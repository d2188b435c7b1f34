"""Word evidence learnt from labelled voices: character n-grams of the words a voice uses.

A voice's text is a bag of word features: each distinct word of a post (its forms and lemmas, as
the enrichment gives them) adds the word itself and its character 3- to 5-grams (with boundary
marks, so ``<ge`` differs from ``ge``), weighted by inverse document frequency among the labelled
voices. Character n-grams carry over between writers where whole words do not (``kleinkinderen``,
``kleinzoon`` and ``kleindochter`` share ``klein``): across two independent writers they raised the
top-1 accuracy from 0.63-0.69 (words alone) to 0.73-0.77 (see README, "How good are the profile
estimates").

The representation is additive over posts, so the enrich stage can store one small vector per post
and the estimate stage adds a voice's posts up: for a voice with word features ``F`` (a multiset
over its posts), the text score of profile ``j`` is ``sum_f idf_f * W[f, j] / sqrt(sum_f idf_f**2)``.
``design_row`` (for fitting) and ``TextEvidence.post`` (for scoring) compute the two sums.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

NGRAM_MIN, NGRAM_MAX = 3, 5
CACHE_LIMIT = 500_000  # word forms; open vocabulary keeps adding new ones


def word_features(word: str) -> list[str]:
    """The word itself and its character n-grams; nothing for tokens without a letter."""
    if not any(c.isalpha() for c in word):
        return []
    marked = f"<{word}>"
    features = [f"w:{word}"]
    for n in range(NGRAM_MIN, NGRAM_MAX + 1):
        features.extend(marked[i : i + n] for i in range(len(marked) - n + 1))
    return features


def feature_counts(posts: Iterable[Iterable[str]]) -> Counter[str]:
    """The multiset of word features of a voice, from the distinct words of each of its posts."""
    counts: Counter[str] = Counter()
    for words in posts:
        for word in words:
            counts.update(word_features(word))
    return counts


def design_row(counts: Counter[str], index: dict[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, values) of one voice in the fitting matrix: idf-weighted, divided by the
    root of the summed squared idf of its known features (the same as ``TextEvidence`` scores)."""
    columns = np.array([index[f] for f in counts if f in index], dtype=np.int64)
    if len(columns) == 0:
        return columns, np.empty(0)
    n = np.array([counts[f] for f in counts if f in index], dtype=float)
    weights = idf[columns]
    norm = np.sqrt(float((n * weights * weights).sum()))
    return columns, n * weights / norm


class TextEvidence:
    """Fitted weights of the word features: ``weights[f]`` is a (k,) row of logit contributions."""

    def __init__(self, vocabulary: list[str], idf: np.ndarray, weights: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.index = {f: i for i, f in enumerate(vocabulary)}
        self.idf = np.asarray(idf, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.k = self.weights.shape[1]
        self._words: dict[str, tuple[np.ndarray, float]] = {}
        self._zero = np.zeros(self.k)

    def _word(self, word: str) -> tuple[np.ndarray, float]:
        cached = self._words.get(word)
        if cached is None:
            columns = [self.index[f] for f in word_features(word) if f in self.index]
            if columns:
                idf = self.idf[columns]
                cached = (idf @ self.weights[columns], float((idf * idf).sum()))
            else:
                cached = (self._zero, 0.0)
            if len(self._words) >= CACHE_LIMIT:
                self._words.clear()
            self._words[word] = cached
        return cached

    def post(self, words: Iterable[str]) -> tuple[np.ndarray, float]:
        """(summed idf-weighted scores, summed squared idf) of one post's distinct words, added in
        sorted order: a set's order changes with each process's string hashing, and so would the
        last bits of the sums."""
        score = np.zeros(self.k)
        weight = 0.0
        for word in sorted(words):
            s, w = self._word(word)
            if w:
                score += s
                weight += w
        return score, weight


def text_logits(score: np.ndarray, weight: float) -> np.ndarray:
    """A voice's text contribution to its logits from its posts' summed (score, weight)."""
    return score / np.sqrt(weight) if weight > 0 else np.zeros_like(score)
