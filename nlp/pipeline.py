"""The enrichment pipeline: spaCy ``nl`` with the lookup lemmatizer, then language, topics,
sentiment and trust per post. Built once per process; texts go through ``nlp.pipe`` in batches."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

import spacy
from spacy.language import Language
from spacy.lookups import load_lookups

from nlp.data import data_fingerprint
from nlp.language import identify
from nlp.normalise import normalise
from nlp.sentiment import LexiconSentiment
from nlp.topics import TopicHit, TopicMatcher
from nlp.trust import TrustDetector

PIPELINE_VERSION = "0.1"
MAX_CHARS = 20_000  # longer posts are cut before tokenising; the rest rarely changes the labels


@dataclass(frozen=True, slots=True)
class Enrichment:
    """What NLP says about one post. ``words`` (lemmas and forms) feed profile evidence only."""

    language: str
    topics: tuple[TopicHit, ...]
    sentiment: str
    sentiment_score: float
    trust: str
    n_tokens: int
    words: frozenset[str]
    lower_text: str


def nlp_version() -> str:
    """Version of the default enrichment: code version plus a hash of the word lists."""
    return f"lexicon-{PIPELINE_VERSION}+{data_fingerprint()}"


def build_nlp() -> Language:
    """A blank Dutch pipeline with the lookup lemmatizer (tables from spacy-lookups-data)."""
    nlp = spacy.blank("nl")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()
    return nlp


class Enricher:
    """Runs the whole default enrichment; one instance per process (see ``get_enricher``)."""

    def __init__(self) -> None:
        self.nlp = build_nlp()
        self.topics = TopicMatcher()
        self.sentiment = LexiconSentiment()
        self.trust = TrustDetector()
        table = load_lookups("nl", ["lemma_lookup"]).get_table("lemma_lookup")
        self._dutch_lemmas = frozenset(table.values())
        self._dutch_forms = table
        self.version = nlp_version()

    def _is_dutch_word(self, word: str) -> bool:
        return word in self._dutch_lemmas or word in self._dutch_forms or word in self.sentiment.lexicon

    def enrich(self, texts: Iterable[str], batch_size: int = 256) -> Iterator[Enrichment]:
        """One Enrichment per text, in input order."""
        cleaned = (normalise(text[:MAX_CHARS]) for text in texts)
        for doc in self.nlp.pipe(cleaned, batch_size=batch_size):
            forms = [t.lower_ for t in doc if not t.is_space]
            lemmas = [t.lemma_.lower() or t.lower_ for t in doc if not t.is_space]
            alpha = [f for f in forms if f.isalpha()]
            language = identify(alpha, self._is_dutch_word)
            lower_text = doc.text.lower()
            words = frozenset(forms) | frozenset(lemmas)
            if language == "nl":
                topics = tuple(self.topics.match(words, lower_text))
                sentiment = self.sentiment.score(forms, lemmas, lower_text)
                trust = self.trust.detect(lower_text)
                label, score = sentiment.label, sentiment.score
            else:
                topics, label, score, trust = (), "neutral", 0.0, "neutral"
            yield Enrichment(language, topics, label, score, trust, len(forms), words, lower_text)


@lru_cache(maxsize=1)
def get_enricher() -> Enricher:
    """The process-wide enricher: loading spaCy and the lexicons takes about a second."""
    return Enricher()
