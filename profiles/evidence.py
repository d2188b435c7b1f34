"""Per-voice evidence: which profile signals fire on a post, and the posterior of one voice.

A voice is one pseudonymous author in one period. Each signal counts once per voice, however many
posts show it, so a prolific poster does not weigh more than a quiet one. Posteriors live only in
memory during estimation; the warehouse keeps the signals per post and aggregate counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nlp.literals import Literals
from profiles.lexical import TextEvidence, text_logits
from profiles.model import SHIPPED_DIR, ProfileModel, Signal

if TYPE_CHECKING:
    from profiles.fit import FittedEvidence


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
    """A profile model's signals, compiled once, with their log likelihood ratios; with a fitted
    evidence file (``profiles.fit``), the fitted coefficients and word evidence instead.

    A voice's posterior is ``softmax(bias + sum of its distinct signals' coefficients + text)``.
    Without a fit, ``bias`` is the log population share and a coefficient the log likelihood ratio
    of the profile file, so the posterior is Bayes' rule with the hand-set ratios.
    """

    def __init__(self, model: ProfileModel, fitted: FittedEvidence | None = None) -> None:
        self.model = model
        self.fitted = fitted
        self.signals = [_CompiledSignal(s) for s in model.signals]
        self._phrases = Literals(p for s in self.signals for p in s.phrase_texts)
        ids = model.profile_ids
        self.log_lr = {
            s.id: np.log(np.array([s.lr.get(pid, 1.0) for pid in ids], dtype=float)) for s in model.signals
        }
        self.log_prior = np.log(model.prior())
        self.text: TextEvidence | None = None
        if fitted is not None:
            self.log_lr.update(zip(fitted.signal_ids, fitted.signal_coef, strict=True))
            self.log_prior = np.asarray(fitted.bias, dtype=float)
            self.text = fitted.text

    @property
    def version(self) -> str:
        """The profile model's evidence version, and the fit's: stored evidence is recomputed when
        either changes."""
        tag = self.model.version_tag()
        return tag if self.fitted is None else f"{tag}+fit{self.fitted.digest}"

    @property
    def posterior_prior(self) -> np.ndarray:
        """The prior the posteriors are computed under: the population shares for the hand-set
        model; for a fit, the label frequencies of its training voices (a logistic model's mean
        posterior on its training voices matches them)."""
        return self.model.prior() if self.fitted is None else np.asarray(self.fitted.train_prior, dtype=float)

    @property
    def no_evidence(self) -> np.ndarray:
        """The posterior of a voice without any evidence."""
        return self.posterior(())

    @property
    def calibration(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Cross-fitted (posteriors, labels) of the fit's labelled voices, for the share estimators."""
        if self.fitted is None or len(self.fitted.calibration_labels) == 0:
            return None
        return self.fitted.calibration_posteriors, self.fitted.calibration_labels

    def fired(self, features: PostFeatures) -> list[str]:
        """Ids of the signals that fire on one post."""
        present = self._phrases.found(features.lower_text)
        return [s.id for s in self.signals if s.fires(features, present)]

    def post_text(self, words: Iterable[str]) -> tuple[np.ndarray, float]:
        """What one post's words add to its voice's text evidence (zeros without a fitted model)."""
        scores, weights = self.posts_text([words])
        return scores[0], float(weights[0])

    def posts_text(self, posts: list[Iterable[str]]) -> tuple[np.ndarray, np.ndarray]:
        """``post_text`` of several posts at once, as a (posts, profiles) array of scores and one
        of weights (a batch's new words are scored together)."""
        if self.text is None:
            return np.zeros((len(posts), len(self.log_prior))), np.zeros(len(posts))
        return self.text.scored(posts)

    def text_of(self, posts: Iterable[Iterable[str]]) -> tuple[np.ndarray, float]:
        """A voice's summed text evidence from the words of each of its posts."""
        score, weight = np.zeros(len(self.log_prior)), 0.0
        for words in posts:
            s, w = self.post_text(words)
            score += s
            weight += w
        return score, weight

    def posterior(
        self, signal_ids: Iterable[str], text_score: np.ndarray | None = None, text_weight: float = 0.0
    ) -> np.ndarray:
        """Posterior over profiles for one voice, from the distinct signals of all its posts and
        its summed text evidence."""
        scores = None if text_score is None else np.asarray(text_score, dtype=float)[None, :]
        return self.posteriors([signal_ids], scores, np.array([text_weight], dtype=float))[0]

    def posteriors(
        self,
        signal_ids: list[Iterable[str]],
        text_scores: np.ndarray | None = None,
        text_weights: np.ndarray | None = None,
    ) -> np.ndarray:
        """(voices, profiles) posteriors of many voices at once (``posterior`` of each, to the last
        bit): the same additions in the same order, one array operation per step for all voices
        instead of a dozen small ones per voice (at 100k posts ~1 s of the estimate stage).
        ``text_scores`` (voices, profiles) and ``text_weights``: summed text evidence; a weight of 0
        adds nothing."""
        # In sorted order: a set's order changes with each process's string hashing, and with it
        # the last bits of the sum, and so figures that should repeat from run to run.
        known = [
            [lr for s in sorted(set(ids)) if (lr := self.log_lr.get(s)) is not None] for ids in signal_ids
        ]
        logp = np.tile(self.log_prior, (len(known), 1))
        for step in range(max(map(len, known), default=0)):  # the i-th signal of every voice that has one
            voices = [v for v, lrs in enumerate(known) if len(lrs) > step]
            logp[voices] += np.array([known[v][step] for v in voices])
        if text_scores is not None and text_weights is not None:
            logp += text_logits(np.asarray(text_scores, dtype=float), np.asarray(text_weights, dtype=float))
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        return p / p.sum(axis=1, keepdims=True)


def summed_text(scores: list | None, weights: list | None) -> tuple[np.ndarray | None, float]:
    """A voice's text evidence from its posts' stored scores and weights (in a fixed order, so the
    sums are the same to the last bit on every run): the sums, or None when no post has any."""
    return (np.sum(scores, axis=0), float(np.sum(weights))) if scores else (None, 0.0)


def summed_texts(
    scores: list[list | None], weights: list[list | None], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``summed_text`` of many voices, as (voices, k) sums and (voices,) weights (0 where a voice has
    none); voices with as many posts are summed in one array operation, each as ``summed_text``
    sums it."""
    sums, totals = np.zeros((len(scores), k)), np.zeros(len(scores))
    by_posts: dict[int, list[int]] = {}
    for v, rows in enumerate(scores):
        if rows:
            by_posts.setdefault(len(rows), []).append(v)
    for same in by_posts.values():
        sums[same] = np.sum(np.array([scores[v] for v in same], dtype=float), axis=1)
        totals[same] = np.sum(np.array([weights[v] for v in same], dtype=float), axis=1)
    return sums, totals


POST_SEPARATOR = "\n---\n"  # between a voice's posts in one CSV cell (label export, label fit)
EVIDENCE_HANDSET = "handset"
EVIDENCE_SHIPPED = "shipped"


def shipped_fit_path(model: ProfileModel) -> Path:
    """Where the fit that ships with a profile model lives (it may not exist)."""
    return SHIPPED_DIR / f"{model.id}.fit.npz"


def evidence_for(model: ProfileModel, evidence: str = EVIDENCE_SHIPPED) -> EvidenceModel:
    """The evidence model the nightly run and ``betrokken estimate`` use.

    ``evidence``: "shipped" (the fit that ships with the profile model, else its hand-set ratios),
    "handset" (the profile file's ratios alone, no labels) or the path of a file written by
    ``betrokken label fit``.
    """
    from profiles.fit import load_fitted

    if evidence == EVIDENCE_HANDSET:
        return EvidenceModel(model)
    if evidence == EVIDENCE_SHIPPED:
        path = shipped_fit_path(model)
        return EvidenceModel(model, load_fitted(path, model)) if path.exists() else EvidenceModel(model)
    return EvidenceModel(model, load_fitted(Path(evidence), model))
