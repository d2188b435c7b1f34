"""Per-voice evidence: which profile signals fire on a post, and the posterior of one voice.

A voice is one pseudonymous author in one period. Each signal counts once per voice, however many
posts show it, so a prolific poster does not weigh more than a quiet one. Posteriors live only in
memory during estimation; the warehouse keeps the signals per post and aggregate counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from nlp.literals import Literals
from profiles.model import ProfileModel, Signal


@dataclass(frozen=True, slots=True)
class PostFeatures:
    """What the evidence model may look at for one post."""

    words: frozenset[str]
    lower_text: str
    topics: frozenset[str]
    sentiment: str
    trust: str
    source: str
    channel: str


def features_of(result: Any, source: str, channel: str) -> PostFeatures:
    """The evidence view of one enrichment result (``nlp.pipeline.Enrichment``) of a post."""
    return PostFeatures(
        result.words,
        result.lower_text,
        frozenset(h.id for h in result.topics),
        result.sentiment,
        result.trust,
        source,
        channel,
    )


class _CompiledSignal:
    def __init__(self, signal: Signal) -> None:
        self.id = signal.id
        m = signal.match
        self.lemmas = frozenset(w.lower() for w in m.lemmas)
        # The regex only confirms the word boundaries of a phrase found as a substring (one pass
        # over the text for all signals' phrases, in ``EvidenceModel.fired``).
        self.phrase_texts = frozenset(p.lower() for p in m.phrases)
        self.phrases = (
            re.compile("|".join(rf"(?<!\w){re.escape(p)}(?!\w)" for p in self.phrase_texts))
            if m.phrases
            else None
        )
        self.has_words = bool(self.lemmas or self.phrases)
        self.topics = frozenset(m.topics)
        self.trust = m.trust
        self.sentiment = m.sentiment
        self.source = m.source
        self.channel = m.channel.lower() if m.channel else None

    def fires(self, f: PostFeatures, present: set[str]) -> bool:
        """Whether the signal fires; ``present``: the phrases of the model found in the text."""
        if self.source is not None and f.source != self.source:
            return False
        if self.channel is not None and f.channel.lower() != self.channel:
            return False
        if self.trust is not None and f.trust != self.trust:
            return False
        if self.sentiment is not None and f.sentiment != self.sentiment:
            return False
        if self.topics and not (self.topics & f.topics):
            return False
        if self.has_words:
            word_hit = bool(self.lemmas & f.words)
            if not word_hit and self.phrases is not None and not self.phrase_texts.isdisjoint(present):
                word_hit = self.phrases.search(f.lower_text) is not None
            return word_hit
        return True


class EvidenceModel:
    """A profile model's signals, compiled once, with their log likelihood ratios."""

    def __init__(self, model: ProfileModel) -> None:
        self.model = model
        self.signals = [_CompiledSignal(s) for s in model.signals]
        self._phrases = Literals(p for s in self.signals for p in s.phrase_texts)
        ids = model.profile_ids
        self.log_lr = {
            s.id: np.log(np.array([s.lr.get(pid, 1.0) for pid in ids], dtype=float)) for s in model.signals
        }
        self.log_prior = np.log(model.prior())

    def fired(self, features: PostFeatures) -> list[str]:
        """Ids of the signals that fire on one post."""
        present = self._phrases.found(features.lower_text)
        return [s.id for s in self.signals if s.fires(features, present)]

    def posterior(self, signal_ids: Iterable[str]) -> np.ndarray:
        """Posterior over profiles for one voice, from the distinct signals of all its posts."""
        logp = self.log_prior.copy()
        for signal_id in set(signal_ids):
            lr = self.log_lr.get(signal_id)
            if lr is not None:
                logp += lr
        logp -= logp.max()
        p = np.exp(logp)
        return p / p.sum()
