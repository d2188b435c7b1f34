"""Property-based tests of the NLP and profile-evidence code on arbitrary Unicode.

Posts arrive with emoji, right-to-left text, zero-width and control characters, endless words and
empty bodies. Whatever comes in, enrichment and evidence must not crash and must stay inside their
documented ranges: that is what these tests check, on generated input rather than chosen examples.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from nlp.language import decide, identify
from nlp.normalise import fold_repeats, normalise
from nlp.pipeline import MAX_CHARS, Enricher, Enrichment, get_enricher
from nlp.sentiment import NEUTRAL_BAND
from nlp.topics import TopicMatcher
from profiles.evidence import EvidenceModel, PostFeatures, features_of
from profiles.model import SHIPPED_DIR, load_model

LANGUAGES = {"nl", "en", "und"}
SENTIMENTS = {"negative", "neutral", "positive"}
TRUST = {"distrust", "neutral", "trust"}
MODELS = sorted(p.stem for p in SHIPPED_DIR.glob("*.yaml"))

# Loading spaCy and the lexicons takes seconds: few examples, no per-example deadline.
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=300, deadline=None)

# --- strategies -------------------------------------------------------------------------------------

# Any code point a str can hold once decoded (lone surrogates have their own test below).
_CHARS = st.characters(codec=None, exclude_categories=("Cs",))
_AWKWARD = st.sampled_from(
    [
        "", " ", "\n", "\t", "\x00", "\x1b[31m", "\x7f", "\x85",  # control characters
        "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",  # zero-width and invisible
        "\u202e", "\u202a", "\u2066", "\u200f", "\u061c",  # bidirectional controls
        "שלום", "مرحبا", "עִבְרִית",  # right-to-left scripts
        "🙂", "😡", "🙄", "👩\u200d🚒", "🇳🇱", "👍🏽", "❤\ufe0f",  # emoji and sequences
        "e\u0301", "ﬁ", "Ⅻ", "𝔤𝔢𝔪𝔢𝔢𝔫𝔱𝔢", "ＦＵＬＬ", "\ufffd", "\ue000", "\U0010ffff",
        "@gemeente", "u/iemand", "r/utrecht", "https://x.nl/a?b=c", "[tekst](https://x.nl)", "](",
        "...", "!!!", "?!", "#", "€", "%", "'s", "-", "--",
    ]
)  # fmt: skip
# Words that reach the Dutch branch (topics, sentiment, trust) and the profile signals.
_DUTCH = st.sampled_from(
    [
        "de", "het", "een", "en", "niet", "wel", "maar", "toch", "heel", "echt", "te", "geen", "ik", "we",
        "gemeente", "raad", "wethouder", "parkeren", "parkeervergunning", "duur", "goed", "slecht",
        "mooi", "prachtig", "belachelijk", "schandalig", "leuuuuk", "superrr", "bomen", "speeltuin",
        "zienswijze", "raadsvergadering", "petitie", "kinderen", "school", "azc", "windturbines",
        "luisteren", "naar", "ons", "allang", "besloten", "belastinggeld", "fietsenstalling", "ozb",
        "top", "geregeld", "weer", "niet", "leuk", "dat", "de", "bus", "verdwijnt", "vind", "plan",
    ]
)  # fmt: skip
_LONG_WORD = st.builds(lambda c, n: c * n, _CHARS, st.integers(min_value=50, max_value=3_000))
_TOKEN = st.one_of(_DUTCH, _DUTCH, _AWKWARD, st.text(_CHARS, max_size=12))
_SOUP = st.lists(_TOKEN, max_size=40).flatmap(
    lambda tokens: st.sampled_from([" ", "", "\n", " \u200b"]).map(lambda sep: sep.join(tokens))
)
TEXTS = st.one_of(st.text(_CHARS, max_size=200), _SOUP, _SOUP, _LONG_WORD)


@pytest.fixture(scope="module")
def enricher() -> Enricher:
    return get_enricher()


# --- nlp.normalise ----------------------------------------------------------------------------------


@FAST
@given(TEXTS)
@example("\x00\u202e@x u/y r/ ](")
def test_normalise_never_raises(text: str) -> None:
    result = normalise(text)
    assert isinstance(result, str)
    assert result == result.strip()
    for invisible in ("\x00", "\u200b", "\u202e", "\u2066", "\ufeff"):
        assert invisible not in result


@FAST
@given(TEXTS, st.integers(min_value=1, max_value=3))
@example("leuuuuk", 1)
def test_fold_repeats_never_raises_never_grows_and_is_stable(word: str, keep: int) -> None:
    folded = fold_repeats(word, keep=keep)
    assert isinstance(folded, str)
    assert len(folded) <= len(word)
    assert fold_repeats(folded, keep=keep) == folded


# --- nlp.language -----------------------------------------------------------------------------------

_WORD_LISTS = st.lists(st.one_of(_DUTCH, st.text(_CHARS, max_size=10), st.sampled_from(["the", "is", "and"])))


@FAST
@given(_WORD_LISTS, st.sampled_from([None, "set", "all", "none"]))
def test_identify_returns_a_known_code(words: list[str], predicate: str | None) -> None:
    checks = {
        None: None,
        "set": {"gemeente", "goed", "parkeren"}.__contains__,
        "all": lambda _: True,
        "none": lambda _: False,
    }
    assert identify(words, checks[predicate]) in LANGUAGES


@FAST
@given(st.lists(st.integers(), min_size=4, max_size=4), st.integers(), st.integers())
def test_decide_returns_a_known_code_for_any_counts(votes: list[int], known: int, total: int) -> None:
    assert decide(votes, known, total) in LANGUAGES


# --- nlp.pipeline -----------------------------------------------------------------------------------


def _check_enrichment(text: str, result: Enrichment, topic_ids: set[str]) -> None:
    assert result.lower_text == normalise(text[:MAX_CHARS]).lower()  # the right result for this text
    assert result.language in LANGUAGES
    assert result.sentiment in SENTIMENTS
    assert result.trust in TRUST
    assert math.isfinite(result.sentiment_score) and -1.0 <= result.sentiment_score <= 1.0
    if result.sentiment == "positive":
        assert result.sentiment_score >= NEUTRAL_BAND
    elif result.sentiment == "negative":
        assert result.sentiment_score <= -NEUTRAL_BAND
    else:
        assert abs(result.sentiment_score) <= NEUTRAL_BAND
    assert result.n_tokens >= 0
    assert all(isinstance(w, str) for w in result.words)
    ids = [hit.id for hit in result.topics]
    assert len(ids) == len(set(ids)) and set(ids) <= topic_ids
    for hit in result.topics:
        assert math.isfinite(hit.score) and 0.0 < hit.score < 1.0
        assert hit.evidence
    if result.language != "nl":  # only Dutch posts get topics and sentiment
        assert result.topics == () and result.sentiment == "neutral" and result.trust == "neutral"


@pytest.mark.slow  # seconds: many generated examples through the whole NLP or model
@SLOW
@given(st.lists(TEXTS, max_size=8), st.integers(min_value=1, max_value=4))
@example(["", "   ", "\x00\x01", "\u202ereversed", "🙂" * 30, "a" * (MAX_CHARS + 10)], 2)
@example(["Ik vind het niet leuk dat de bus verdwijnt. 😡", "\u200b", "שלום עולם"], 1)
def test_enrich_yields_one_valid_result_per_text(
    enricher: Enricher, texts: list[str], batch_size: int
) -> None:
    results = list(enricher.enrich(texts, batch_size=batch_size))
    assert len(results) == len(texts)
    topic_ids = set(TopicMatcher().ids)
    for text, result in zip(texts, results, strict=True):
        _check_enrichment(text, result, topic_ids)


@pytest.mark.slow  # seconds: many generated examples through the whole NLP or model
@SLOW
@given(st.lists(_DUTCH, min_size=1, max_size=30).map(" ".join))
def test_enrich_dutch_word_soup(enricher: Enricher, text: str) -> None:
    """Mostly Dutch input, so that the topic, sentiment and trust code runs on every example."""
    (result,) = enricher.enrich([text])
    _check_enrichment(text, result, set(TopicMatcher().ids))


@pytest.mark.parametrize("text", ["\ud800", "emoji \ud83d", "\udc00 gemeente"])
def test_enrich_survives_lone_surrogates(enricher: Enricher, text: str) -> None:
    (result,) = enricher.enrich([text])
    assert result.language in LANGUAGES


def test_topic_score_stays_a_probability_with_many_words(enricher: Enricher) -> None:
    words = (
        "parkeren parkeerplaats auto verkeer file drempel rotonde kruispunt snelheid flitspaal "
        "wegwerkzaamheden omleiding vrachtwagen sluipverkeer afsluiting"
    )
    (result,) = enricher.enrich([f"De gemeente maakt het duur: {words}."])
    assert result.topics and all(0.0 < hit.score < 1.0 for hit in result.topics)
    assert result.topics[0].id == "verkeer_parkeren" and result.topics[0].score > 0.95


# --- profiles.evidence ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=MODELS)
def evidence(request: pytest.FixtureRequest) -> EvidenceModel:
    return EvidenceModel(load_model(request.param))


def _check_posterior(evidence: EvidenceModel, posterior: np.ndarray) -> None:
    assert posterior.shape == (len(evidence.model.profiles),)
    assert np.all(np.isfinite(posterior)) and np.all(posterior >= 0.0)
    assert posterior.sum() == pytest.approx(1.0)


_SOURCES = st.one_of(st.sampled_from(["reddit", "rss"]), st.text(_CHARS, max_size=10))
_CHANNELS = st.one_of(
    st.sampled_from(["r/utrecht", "R/Utrecht", "Lokaal nieuws"]), st.text(_CHARS, max_size=20)
)


@SLOW
@given(st.lists(TEXTS, min_size=1, max_size=6), _SOURCES, _CHANNELS)
@example(
    ["Ik heb een zienswijze ingediend bij de raadsvergadering.", "Ze luisteren toch niet naar ons."],
    "reddit",
    "r/utrecht",
)
def test_evidence_on_enrichment_results(
    enricher: Enricher, evidence: EvidenceModel, texts: list[str], source: str, channel: str
) -> None:
    signal_ids = {s.id for s in evidence.model.signals}
    voice: list[str] = []
    for result in enricher.enrich(texts):
        features = features_of(result, source, channel)
        fired = evidence.fired(features)
        assert len(fired) == len(set(fired)) and set(fired) <= signal_ids
        _check_posterior(evidence, evidence.posterior(fired))
        voice.extend(fired)
    _check_posterior(evidence, evidence.posterior(voice))  # one voice, many posts


@pytest.mark.slow  # seconds: many generated examples through the whole NLP or model
@FAST
@given(
    st.frozensets(st.one_of(_DUTCH, st.text(_CHARS, max_size=10))),
    TEXTS,
    st.frozensets(st.text(_CHARS, max_size=12)),
    st.text(_CHARS, max_size=10),
    st.text(_CHARS, max_size=10),
    _SOURCES,
    _CHANNELS,
)
def test_fired_on_arbitrary_features(
    evidence: EvidenceModel,
    words: frozenset[str],
    lower_text: str,
    topics: frozenset[str],
    sentiment: str,
    trust: str,
    source: str,
    channel: str,
) -> None:
    features = PostFeatures(words, lower_text, topics, sentiment, trust, source, channel)
    fired = evidence.fired(features)
    assert set(fired) <= {s.id for s in evidence.model.signals}


@pytest.mark.slow  # seconds: many generated examples through the whole NLP or model
@FAST
@given(st.data())
def test_posterior_for_any_subset_and_unknown_ids(evidence: EvidenceModel, data: st.DataObject) -> None:
    known = [s.id for s in evidence.model.signals]
    subset = data.draw(st.lists(st.sampled_from(known), unique=True) if known else st.just([]))
    unknown = data.draw(st.lists(st.text(_CHARS, max_size=15), max_size=5))
    assume(not set(unknown) & set(known))
    posterior = evidence.posterior(subset)
    _check_posterior(evidence, posterior)
    # unknown ids are ignored; repeats and order do not matter (each signal counts once per voice)
    assert np.allclose(evidence.posterior(subset + unknown), posterior)
    assert np.allclose(evidence.posterior(list(reversed(subset)) * 3), posterior)
    if not subset:
        assert np.allclose(posterior, evidence.model.prior())


def test_posterior_with_every_signal_at_once(evidence: EvidenceModel) -> None:
    _check_posterior(evidence, evidence.posterior(s.id for s in evidence.model.signals))
