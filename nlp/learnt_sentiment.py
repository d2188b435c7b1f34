"""Three-way sentiment from a small linear model learnt on real labelled Dutch text (issue #21).

A multinomial logistic model over two kinds of features of a post:

- what the lexicon finds (``LexiconSentiment.signals``): its score, the summed positive and
  negative word polarities, how many opinion words were negated or intensified, "te" + word,
  contrast words, phrases, irony, "!", plus "?", any negator, and the length;
- its words and pairs of neighbouring words, hashed into ``2**HASH_BITS`` buckets (CRC-32): the
  shipped parameters hold a weight row per bucket, from which no word or sentence can be read back.

The neutral class is learnt like the other two, not a band around 0. Scoring is a few dictionary
lookups and a sum of three numbers per feature; the label is the most probable class and the score
P(positive) - P(negative). ``nlp.fit_sentiment`` fits the parameters and measures them; the shipped
file (``data/sentiment_model.npz``) has its provenance and figures beside it
(``data/sentiment_model.json``).
"""

from __future__ import annotations

import io
import json
import math
import re
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nlp.data import DATA_DIR
from nlp.sentiment import Contribution, LexiconSentiment, LexiconSignals, Sentiment, squash

FORMAT = 1
HASH_BITS = 18
MODEL_PATH = DATA_DIR / "sentiment_model.npz"
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
_START, _END = "<s>", "</s>"


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


def terms(forms: Sequence[str]) -> list[str]:
    """The hashed features of a post: each word ("u:") and each pair of neighbouring words ("b:"),
    the first and last word also paired with the text's start and end. Punctuation other than "!"
    and "?" is left out."""
    words = [f for f in forms if f in ("!", "?") or _WORDLIKE.search(f)]
    if not words:
        return []
    pairs = zip([_START, *words], [*words, _END], strict=True)
    return [f"u:{w}" for w in words] + [f"b:{a} {b}" for a, b in pairs]


def post_features(
    lexicon: LexiconSentiment, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str
) -> tuple[list[float], set[int]]:
    """The dense feature values and the hash buckets of one post: what the model is fitted on and
    scores (from the lowercased token forms, their lexicon polarities and the lowercased text)."""
    signals = lexicon.signals(forms, polarities, lower_text)
    dense = dense_features(signals, forms, lower_text, lexicon.negators)
    return dense, {bucket(t) for t in terms(forms)}


def bucket(term: str) -> int:
    """The hash bucket of a term: CRC-32, the same in every process (Python's ``hash`` is salted)."""
    return zlib.crc32(term.encode("utf-8")) & ((1 << HASH_BITS) - 1)


@dataclass(frozen=True)
class SentimentModel:
    """The learnt parameters: a row of three logit weights per feature and per known bucket."""

    bias: np.ndarray  # (3,)
    dense: np.ndarray  # (len(FEATURES), 3)
    buckets: np.ndarray  # (m,) the hash buckets seen in fitting, ascending
    weights: np.ndarray  # (m, 3)
    provenance: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        """The parameters as ``path`` (.npz) and the provenance beside it (.json, readable)."""
        meta = {"format": FORMAT, "hash_bits": HASH_BITS, "classes": CLASSES, "features": FEATURES}
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
            bias=self.bias.astype(np.float32),
            dense=self.dense.astype(np.float32),
            buckets=self.buckets.astype(np.int32),
            weights=self.weights.astype(np.float32),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(buffer.getvalue())
        provenance = json.dumps(self.provenance, indent=2, ensure_ascii=False)
        path.with_suffix(".json").write_text(provenance + "\n", encoding="utf-8")


def load_sentiment_model(path: Path = MODEL_PATH) -> SentimentModel:
    """A model file written by ``nlp.fit_sentiment``, checked against the features this code makes."""
    refit = "fit it again with `python -m nlp.fit_sentiment`"
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta"]).decode())
            arrays = {name: data[name] for name in ("bias", "dense", "buckets", "weights")}
        provenance_path = path.with_suffix(".json")
        provenance = json.loads(provenance_path.read_text("utf-8")) if provenance_path.exists() else {}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise SentimentModelError(f"{path}: not a readable sentiment model ({exc}); {refit}") from None
    expected = {
        "format": FORMAT,
        "hash_bits": HASH_BITS,
        "classes": list(CLASSES),
        "features": list(FEATURES),
    }
    if meta != expected:
        raise SentimentModelError(f"{path}: made for other features ({meta}); {refit}")
    k = len(CLASSES)
    if (
        arrays["bias"].shape != (k,)
        or arrays["dense"].shape != (len(FEATURES), k)
        or arrays["weights"].shape != (len(arrays["buckets"]), k)
    ):
        raise SentimentModelError(f"{path}: its arrays do not fit together; {refit}")
    return SentimentModel(
        arrays["bias"].astype(float),
        arrays["dense"].astype(float),
        arrays["buckets"].astype(np.int64),
        arrays["weights"].astype(float),
        provenance,
    )


class LearntSentiment:
    """The learnt backend: the lexicon's findings and hashed words in a fitted linear model."""

    name = "learnt"

    def __init__(self, lexicon: LexiconSentiment, model: SentimentModel | None = None) -> None:
        self.lexicon = lexicon
        self.model = model or load_sentiment_model()
        # Plain tuples and a dict: per post a few lookups and additions, no array call.
        self._bias = tuple(self.model.bias.tolist())
        self._dense = [tuple(row) for row in self.model.dense.tolist()]
        self._weights: dict[int, tuple[float, float, float]] = dict(
            zip(self.model.buckets.tolist(), map(tuple, self.model.weights.tolist()), strict=True)
        )

    def logits(
        self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str
    ) -> list[float]:
        """The three class logits of one post."""
        return self.logits_of(*post_features(self.lexicon, forms, polarities, lower_text))

    def logits_of(self, dense: Sequence[float], buckets: set[int]) -> list[float]:
        """The three class logits of a post's features (``post_features``)."""
        neg, neu, pos = self._bias
        for value, (w0, w1, w2) in zip(dense, self._dense, strict=True):
            if value:
                neg += value * w0
                neu += value * w1
                pos += value * w2
        if buckets:
            scale = 1.0 / math.sqrt(len(buckets))
            weights = self._weights
            for b in buckets:
                row = weights.get(b)
                if row is not None:
                    neg += scale * row[0]
                    neu += scale * row[1]
                    pos += scale * row[2]
        return [neg, neu, pos]

    def score(self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str) -> Sentiment:
        """The most probable class, and P(positive) - P(negative) as the score."""
        return decide(self.logits(forms, polarities, lower_text))

    def explain(
        self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str
    ) -> tuple[Sentiment, list[Contribution]]:
        """The score and each feature's part of it: toward positive (positive minus negative logit)
        and toward neutral (neutral logit minus the mean of the other two)."""
        dense, _ = post_features(self.lexicon, forms, polarities, lower_text)
        parts: list[tuple[str, tuple[float, ...]]] = [("bias", self._bias)]
        parts += [
            (f"lexicon:{name}", tuple(v * w for w in row))
            for name, v, row in zip(FEATURES, dense, self._dense, strict=True)
            if v
        ]
        named = {bucket(t): t for t in terms(forms)}
        scale = 1.0 / math.sqrt(len(named)) if named else 0.0
        for b, term in named.items():
            row = self._weights.get(b)
            if row is not None:
                kind = "word" if term.startswith("u:") else "words"
                parts.append((f"{kind}:{term[2:]}", tuple(scale * w for w in row)))
        explanation = [
            Contribution(name, round(c[2] - c[0], 4), round(c[1] - (c[0] + c[2]) / 2, 4)) for name, c in parts
        ]
        return self.score(forms, polarities, lower_text), explanation


def decide(logits: Sequence[float]) -> Sentiment:
    """Label and score from the three class logits."""
    top = max(logits)
    neg, neu, pos = (math.exp(v - top) for v in logits)
    label = "neutral" if neu >= neg and neu >= pos else "positive" if pos > neg else "negative"
    return Sentiment(label, round((pos - neg) / (neg + neu + pos), 4))
