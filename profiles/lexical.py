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

import ahocorasick
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
    """Fitted weights of the word features: ``weights[f]`` is a (k,) row of logit contributions.

    Scoring a post looks each distinct word up once in a per-process cache that maps it to a row of
    a growing table of word scores (or to nothing when none of its features is known), then adds
    up the rows of a batch's posts in a few array operations: at 100,000 posts a Python call per
    word cost more than the rest of the enrichment.
    """

    def __init__(self, vocabulary: list[str], idf: np.ndarray, weights: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.index = {f: i for i, f in enumerate(vocabulary)}
        self.idf = np.asarray(idf, dtype=float)
        self.weights = np.asarray(weights, dtype=float)
        self.k = self.weights.shape[1]
        self._weighted = self.weights * self.idf[:, None]  # a feature's idf-weighted scores
        self._idf_squared = self.idf * self.idf
        # The character n-grams of the vocabulary in one automaton: a word's known n-grams (each
        # occurrence, as ``word_features`` lists them) are found in one pass in C, not by looking
        # up each of its some thirty n-grams (most new words of a night are seen once).
        self._grams = ahocorasick.Automaton()
        for i, f in enumerate(vocabulary):
            if not f.startswith("w:"):
                self._grams.add_word(f, i)
        if len(self._grams):
            self._grams.make_automaton()
        self._row: dict[str, int] = {}  # word -> row of _scores, -1 for a word without known features
        self._scores = np.empty((1024, self.k))
        self._squares = np.empty(1024)
        self._rows = 0

    def _columns(self, word: str) -> list[int]:
        """The vocabulary indices of ``word_features(word)``, each as often as it occurs there."""
        if not any(c.isalpha() for c in word):
            return []
        columns = [i for _, i in self._grams.iter(f"<{word}>")] if len(self._grams) else []
        whole = self.index.get(f"w:{word}")
        return columns if whole is None else [whole, *columns]

    def _add(self, words: list[str]) -> None:
        """Give each new word its row of scores (all of a post's new words in one array operation),
        or -1 when none of its features is known."""
        columns = [self._columns(word) for word in words]
        known = [(word, c) for word, c in zip(words, columns, strict=True) if c]
        for word, c in zip(words, columns, strict=True):
            if not c:
                self._row[word] = -1
        if not known:
            return
        needed = self._rows + len(known)
        if needed > len(self._squares):
            size = max(needed, 2 * len(self._squares))
            self._scores = np.resize(self._scores, (size, self.k))
            self._squares = np.resize(self._squares, size)
        flat = [i for _, c in known for i in c]
        starts = np.cumsum([0] + [len(c) for _, c in known[:-1]])
        rows = slice(self._rows, needed)
        self._scores[rows] = np.add.reduceat(self._weighted[flat], starts, axis=0)
        self._squares[rows] = np.add.reduceat(self._idf_squared[flat], starts)
        for offset, (word, _) in enumerate(known):
            self._row[word] = self._rows + offset
        self._rows = needed

    def scored(self, posts: Iterable[Iterable[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``post`` of each post, as a (posts, k) array of summed scores and a (posts,) one of summed
        squares. A batch's new words are scored together. Each post's words are added in sorted
        order, because a set's order changes with each process's string hashing, and so would the
        last bits.

        Posts with the same number of known words are summed in one array operation (a sum over
        the middle axis of (posts, words, k) gives each post to the bit what summing its own
        (words, k) rows gives): at 100,000 posts a few array calls per post cost 3 s of the worker.
        """
        ordered = [sorted(words) for words in posts]
        known = self._row
        new = list(dict.fromkeys(w for words in ordered for w in words if w not in known))
        if len(known) + len(new) > CACHE_LIMIT:  # open vocabulary: start over, not grow for ever
            known.clear()
            self._rows = 0
            new = list(dict.fromkeys(w for words in ordered for w in words))
        if new:
            self._add(new)
        rows = [[row for word in words if (row := known[word]) >= 0] for words in ordered]
        by_length: dict[int, list[int]] = {}
        for i, post_rows in enumerate(rows):
            if post_rows:
                by_length.setdefault(len(post_rows), []).append(i)
        scores, squares = np.zeros((len(rows), self.k)), np.zeros(len(rows))
        for same_length in by_length.values():
            index = np.array([rows[i] for i in same_length])
            scores[same_length] = self._scores[index].sum(axis=1)
            squares[same_length] = self._squares[index].sum(axis=1)
        return scores, squares

    def post(self, words: Iterable[str]) -> tuple[np.ndarray, float]:
        """(summed idf-weighted scores, summed squared idf) of one post's distinct words."""
        scores, squares = self.scored([words])
        return scores[0], float(squares[0])


def text_logits(score: np.ndarray, weight: float) -> np.ndarray:
    """A voice's text contribution to its logits from its posts' summed (score, weight)."""
    return score / np.sqrt(weight) if weight > 0 else np.zeros_like(score)
