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
from collections.abc import Container, Iterable

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


def feature_order(word: str, known: Container[str]) -> list[str]:
    """The known features of ``word_features(word)`` in the order their scores are added up: the
    word itself, then the n-grams by where they end in the marked word, longer ones first."""
    if not any(c.isalpha() for c in word):
        return []
    marked = f"<{word}>"
    grams = [
        marked[end - n + 1 : end + 1]
        for end in range(len(marked))
        for n in range(NGRAM_MAX, NGRAM_MIN - 1, -1)
        if end - n + 1 >= 0
    ]
    return [f for f in [f"w:{word}", *grams] if f in known]


class _Grams:
    """The vocabulary's character n-grams as integers, to find those of many words in a few array
    operations: each character is a digit in base ``base`` (its rank in the n-grams' alphabet, from
    1; 0 for any other character, which no n-gram contains), so an n-gram's number is exact.
    Looking the words up one by one in a Python loop cost more than the rest of the scoring."""

    def __init__(self, vocabulary: list[str]) -> None:
        grams = [(f, i) for i, f in enumerate(vocabulary) if not f.startswith("w:")]
        self.alphabet = np.array(sorted({ord(c) for f, _ in grams for c in f}), dtype=np.int64)
        self.base = len(self.alphabet) + 1
        if self.base**NGRAM_MAX >= 2**63:
            raise ValueError(f"{len(self.alphabet)} characters in the n-grams: their numbers would overflow")
        self.tables: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in range(NGRAM_MIN, NGRAM_MAX + 1):
            of_n = [(f, i) for f, i in grams if len(f) == n]
            if of_n:
                numbers = self._numbers(self._digits("".join(f for f, _ in of_n)), n)[::n]
                order = np.argsort(numbers)
                self.tables[n] = (numbers[order], np.array([i for _, i in of_n], dtype=np.int64)[order])

    def _digits(self, text: str) -> np.ndarray:
        points = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
        if len(self.alphabet) == 0:
            return np.zeros(len(points), dtype=np.int64)
        rank = np.minimum(np.searchsorted(self.alphabet, points), len(self.alphabet) - 1)
        return np.where(self.alphabet[rank] == points, rank + 1, 0)

    def _numbers(self, digits: np.ndarray, n: int) -> np.ndarray:
        """The number of the n characters starting at each position."""
        numbers = np.zeros(len(digits) - n + 1, dtype=np.int64)
        for j in range(n):
            numbers = numbers * self.base + digits[j : len(digits) - n + 1 + j]
        return numbers

    def found(self, words: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every known n-gram occurrence in the marked words: (word index, end, n, column)."""
        marked = "".join(f"<{word}>" for word in words)
        digits = self._digits(marked)
        word_of = np.repeat(np.arange(len(words)), [len(word) + 2 for word in words])
        parts: list[tuple[np.ndarray, ...]] = []
        for n, (numbers, columns) in self.tables.items():
            if len(digits) < n:
                continue
            here = self._numbers(digits, n)
            at = np.minimum(np.searchsorted(numbers, here), len(numbers) - 1)
            starts = np.flatnonzero((numbers[at] == here) & (word_of[: len(here)] == word_of[n - 1 :]))
            parts.append((word_of[starts], starts + n - 1, np.full(len(starts), n), columns[at[starts]]))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty, empty
        word, end, n, column = (
            np.concatenate(arrays).astype(np.int64) for arrays in zip(*parts, strict=True)
        )
        return word, end, n, column


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
        self._grams = _Grams(vocabulary)
        self._row: dict[str, int] = {}  # word -> row of _scores, -1 for a word without known features
        self._scores = np.empty((1024, self.k))
        self._squares = np.empty(1024)
        self._rows = 0

    def _add(self, words: list[str]) -> None:
        """Give each new word its row of scores (a batch's new words in a few array operations), or
        -1 when none of its features is known. A word's known features are added up in the order of
        ``feature_order``: the order decides the last bits of the sums."""
        lettered = [word for word in words if any(c.isalpha() for c in word)]
        word, end, n, column = self._grams.found(lettered)
        whole = [(i, c) for i, w in enumerate(lettered) if (c := self.index.get(f"w:{w}")) is not None]
        if whole:  # the word itself comes first
            word = np.concatenate([np.array([i for i, _ in whole], dtype=np.int64), word])
            end = np.concatenate([np.full(len(whole), -1, dtype=np.int64), end])
            n = np.concatenate([np.zeros(len(whole), dtype=np.int64), n])
            column = np.concatenate([np.array([c for _, c in whole], dtype=np.int64), column])
        order = np.lexsort((-n, end, word))
        flat = column[order]
        counts = np.bincount(word, minlength=len(lettered))
        for w in words:
            self._row[w] = -1
        known = np.flatnonzero(counts)
        if len(known) == 0:
            return
        needed = self._rows + len(known)
        if needed > len(self._squares):
            size = max(needed, 2 * len(self._squares))
            self._scores = np.resize(self._scores, (size, self.k))
            self._squares = np.resize(self._squares, size)
        starts = np.concatenate([[0], np.cumsum(counts[known])[:-1]])
        rows = slice(self._rows, needed)
        self._scores[rows] = np.add.reduceat(self._weighted[flat], starts, axis=0)
        self._squares[rows] = np.add.reduceat(self._idf_squared[flat], starts)
        for offset, i in enumerate(known.tolist()):
            self._row[lettered[i]] = self._rows + offset
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


def text_logits(score: np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """A voice's text contribution to its logits from its posts' summed (score, weight); or many
    voices' at once, (voices, profiles) scores with one weight each. No weight: no contribution."""
    weight = np.asarray(weight, dtype=float)
    some = np.expand_dims(weight > 0, -1)
    return np.where(some, score / np.expand_dims(np.sqrt(np.where(weight > 0, weight, 1.0)), -1), 0.0)
