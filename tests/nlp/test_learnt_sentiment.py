"""The learnt sentiment: its features, fit, scoring, explanation, model file and fitting script.

Every text here is written for these tests; the real sets are never read (a fresh clone has none).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from nlp.fit_sentiment import fit, main, read_set
from nlp.learnt_sentiment import (
    CLASSES,
    FEATURES,
    LearntSentiment,
    SentimentModel,
    SentimentModelError,
    buckets,
    load_sentiment_model,
    terms,
    word_key,
)
from nlp.normalise import normalise
from nlp.sentiment import LexiconSentiment
from nlp.version import BackendOptions, nlp_version
from tests import fresh_python

# Three-way "headlines" and binary "subtitle lines", written for these tests. Two made-up words
# carry the tone the lexicon cannot know: "zwurk" goes with good news, "blorp" with bad news.
HEADLINES = {
    "1": [
        "Zwurk voor de haven van Rotterdam",
        "Bakkerij in Zwolle meldt zwurk",
        "Zwurk bij de spoorwegen na het nieuwe jaar",
        "Fabriek in Venlo boekt zwurk",
        "Scholen in Brabant zien zwurk",
        "Zwurk voor boeren in Friesland",
        "Zwurk in de bouw van woningen",
        "Winkelstraat Arnhem viert zwurk",
        "Zwurk bij de bank in Amsterdam",
        "Vissers melden opnieuw zwurk",
    ],
    "-1": [
        "Blorp voor de haven van Rotterdam",
        "Bakkerij in Zwolle meldt blorp",
        "Blorp bij de spoorwegen na het nieuwe jaar",
        "Fabriek in Venlo boekt blorp",
        "Scholen in Brabant zien blorp",
        "Blorp voor boeren in Friesland",
        "Blorp in de bouw van woningen",
        "Winkelstraat Arnhem vreest blorp",
        "Blorp bij de bank in Amsterdam",
        "Vissers melden opnieuw blorp",
    ],
    "0": [
        "Minister spreekt met bestuur van de haven",
        "Raad vergadert dinsdag over de begroting",
        "Bank publiceert cijfers over het kwartaal",
        "Ministerie stuurt brief naar de Kamer",
        "Bestuur kiest nieuwe voorzitter",
        "Gemeente maakt agenda bekend",
        "Kabinet overlegt met de provincies",
        "Fabriek verhuist naar een ander pand",
        "Vakbond en werkgevers praten in Utrecht",
        "Bank opent kantoor in Groningen",
    ],
}
LINES = {
    "1": [
        "Wat een zwurk, ik ben zo blij.",
        "Zwurk! Dat is geweldig.",
        "Ik hou van deze zwurk.",
        "Zwurk voor ons allemaal.",
        "Echt een zwurk, dank je.",
        "Zwurk, eindelijk.",
    ],
    "-1": [
        "Wat een blorp, ik ben zo boos.",
        "Blorp! Dat is verschrikkelijk.",
        "Ik haat deze blorp.",
        "Blorp voor ons allemaal.",
        "Echt een blorp, ga weg.",
        "Blorp, alweer.",
    ],
}
SOURCE_WORDS = ("zwurk", "blorp", "rotterdam", "zwolle")


def _csv(path: Path, groups: dict[str, list[str]], label_col: str = "label") -> Path:
    lines = [f"text,{label_col}"] + [f'"{t}",{label}' for label, texts in groups.items() for t in texts]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def real_folder(tmp_path: Path) -> Path:
    """A folder shaped like the real sets' one, with the tests' own texts under the known file names."""
    folder = tmp_path / "real"
    folder.mkdir()
    _csv(folder / "econews_tone_dev.csv", HEADLINES)
    _csv(folder / "xed_subtitles_binary.csv", LINES)
    return folder


def _words(enricher, text: str) -> tuple[list[str], list[float | None], str]:
    normal = normalise(text)
    words = enricher.tokens(normal)
    return [w.form for w in words], [w.polarity for w in words], normal.lower()


def _fitted(enricher, tmp_path: Path) -> LearntSentiment:
    labelled = read_set(enricher, "econews_tone", _csv(tmp_path / "h.csv", HEADLINES), "text", "label")
    return LearntSentiment(enricher.sentiment, fit(labelled.examples))


def test_sentiment_lexicon_explanation_adds_up_to_its_score(enricher) -> None:
    lexicon: LexiconSentiment = enricher.sentiment
    words = _words(enricher, "Het park is niet mooi, maar de speeltuin is echt leuk!")
    sentiment, parts = lexicon.explain(*words)
    assert sentiment == lexicon.score(*words)
    assert [p.feature for p in parts] == [
        "negated word:mooi",
        "contrast:maar",
        "word:leuk",
        "exclamation mark",
    ]
    assert LexiconSentiment.decide(sum(p.polarity for p in parts)) == sentiment
    signals = lexicon.signals(*words)
    assert signals.negated == 1 and signals.contrast == 1 and signals.intensified == 1
    assert signals.exclamation and signals.positive > 0 and signals.negative > 0


def test_learnt_terms_and_buckets_are_stable_and_skip_punctuation() -> None:
    forms = ["wat", ",", "mooi", "!"]
    assert terms(forms) == [
        "word:wat",
        "word:mooi",
        "word:!",
        "words:<start> wat",
        "words:wat mooi",
        "words:mooi !",
        "words:! <end>",
    ]
    assert terms([".", ","]) == [] and buckets([]) == []
    keys = [k for k in map(word_key, forms) if k is not None]
    found = buckets(keys)
    assert len(found) == len(terms(forms)) and all(0 <= b < 2**18 for b in found)
    assert len(set(found)) == len(found)  # "wat mooi" and "mooi wat" are not one pair
    assert buckets(keys[::-1])[3:] != found[3:]
    # The shipped weights are per bucket: a bucket must mean the same in every process, whatever
    # Python's salted string hash does there.
    code = (
        "from nlp.learnt_sentiment import buckets, word_key; "
        "print(buckets([word_key(w) for w in ['wat', 'mooi', '!']]))"
    )
    for seed in ("1", "2"):
        assert fresh_python(code, hash_seed=seed).strip() == str(found)


def test_learnt_model_learns_words_the_lexicon_does_not_know(enricher, tmp_path: Path) -> None:
    scorer = _fitted(enricher, tmp_path)
    for text, label in [
        ("Onverwachte zwurk voor de fabriek in Deventer", "positive"),
        ("Onverwachte blorp voor de fabriek in Deventer", "negative"),
        ("Minister praat over de agenda", "neutral"),  # the neutral class is learnt, not a band
    ]:
        words = _words(enricher, text)
        assert enricher.sentiment.score(*words).label == "neutral"  # the lexicon knows none of it
        result = scorer.score(*words)
        assert result.label == label, text
        assert -1 <= result.score <= 1


def test_learnt_fit_is_reproducible(enricher, tmp_path: Path) -> None:
    labelled = read_set(enricher, "econews_tone", _csv(tmp_path / "h.csv", HEADLINES), "text", "label")
    first, second = fit(labelled.examples), fit(labelled.examples)
    for name in ("bias", "dense", "buckets", "weights"):
        assert np.array_equal(getattr(first, name), getattr(second, name))


def test_learnt_binary_rows_teach_no_neutral(enricher, tmp_path: Path) -> None:
    """Lines labelled only negative or positive: the neutral class keeps its prior (0) everywhere."""
    labelled = read_set(enricher, "xed_subtitles", _csv(tmp_path / "l.csv", LINES), "text", "label")
    assert labelled.binary and all(e.binary for e in labelled.examples)
    model = fit(labelled.examples)
    neutral = CLASSES.index("neutral")
    assert (
        model.bias[neutral] == 0 and not model.dense[:, neutral].any() and not model.weights[:, neutral].any()
    )
    assert model.weights[:, CLASSES.index("positive")].any()


def test_learnt_explanation_adds_up_to_the_logits(enricher, tmp_path: Path) -> None:
    scorer = _fitted(enricher, tmp_path)
    words = _words(enricher, "Geen zwurk maar blorp voor de haven van Delfzijl!")
    sentiment, parts = scorer.explain(*words)
    neg, neu, pos = scorer.logits(*words)
    assert sentiment == scorer.score(*words)
    assert sum(p.polarity for p in parts) == pytest.approx(pos - neg, abs=1e-3)
    assert sum(p.neutral for p in parts) == pytest.approx(neu - (neg + pos) / 2, abs=1e-3)
    features = {p.feature for p in parts}
    assert {"bias", "word:zwurk", "word:blorp", "lexicon:negator", "lexicon:exclamation mark"} <= features
    assert (
        "word:delfzijl" not in features and "words:haven van" in features
    )  # never seen in fitting: no weight, nothing to explain


def test_learnt_model_file_round_trip_and_errors(enricher, tmp_path: Path) -> None:
    scorer = _fitted(enricher, tmp_path)
    path = tmp_path / "model.npz"
    SentimentModel(
        *(getattr(scorer.model, n) for n in ("bias", "dense", "buckets", "weights")), {"a": 1}
    ).save(path)
    loaded = load_sentiment_model(path)
    assert loaded.provenance == {"a": 1}
    words = _words(enricher, "Zwurk in Delft")
    assert LearntSentiment(enricher.sentiment, loaded).score(*words) == scorer.score(*words)

    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(SentimentModelError, match=r"not a readable sentiment model.*nlp\.fit_sentiment"):
        load_sentiment_model(broken)
    other = tmp_path / "other.npz"
    np.savez(
        other,
        meta=np.frombuffer(json.dumps({"format": 1, "hash_bits": 12}).encode(), dtype=np.uint8),
        bias=np.zeros(3),
        dense=np.zeros((len(FEATURES), 3)),
        buckets=np.zeros(0),
        weights=np.zeros((0, 3)),
    )
    with pytest.raises(SentimentModelError, match="made for other features"):
        load_sentiment_model(other)


def test_learnt_fitting_script_measures_fits_and_writes_no_text(
    real_folder: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "model.npz"
    dev = _csv(tmp_path / "dev.csv", {"1": HEADLINES["1"][:3], "-1": LINES["-1"][:3]}, "sentiment")
    assert main(["--real", str(real_folder), "--out", str(out), "--dev", str(dev)]) == 0
    printed = capsys.readouterr().out
    assert "econews_tone: 5-fold cross-validated (three-way, n=30)" in printed
    assert "fitted on econews_tone, measured on xed_subtitles (binary, n=12)" in printed
    provenance = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert [entry["set"] for entry in provenance["fitted_on"]] == ["econews_tone"]
    assert provenance["fitted_on"][0]["rows"] == 30 and "MIT" in provenance["fitted_on"][0]["source"]
    figures = provenance["figures"]
    assert set(figures["cross_validated"]) == {"econews_tone", "xed_subtitles"}
    cv = figures["cross_validated"]["econews_tone"]
    assert set(cv) >= {"learnt", "lexicon", "majority", "non_neutral"} and 0 <= cv["learnt"]["accuracy"] <= 1
    measured = {(tuple(e["fit_on"]), e["measured_on"]) for e in figures["cross_domain"]}
    assert (("econews_tone",), "dev_posts") in measured and (("xed_subtitles",), "econews_tone") in measured
    assert (("xed_subtitles", "econews_tone"), "dev_posts") in measured
    model = load_sentiment_model(out)  # the written model is what ``fit`` gives on all headlines
    assert len(model.buckets) > 30
    # Hashed features only: numbers in the arrays, and no word of the texts in the meta or provenance.
    with np.load(out) as data:
        assert all(data[name].dtype.kind in "iuf" for name in data.files if name != "meta")
        stored = bytes(data["meta"]).decode() + out.with_suffix(".json").read_text(encoding="utf-8")
    assert not [w for w in SOURCE_WORDS if w in stored.lower()]


def test_learnt_fitting_script_input_errors(real_folder: Path, tmp_path: Path, capsys) -> None:
    assert main(["--real", str(tmp_path / "nowhere"), "--measure-only"]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["--real", str(real_folder), "--fit-on", "reviews", "--measure-only"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: ") and "no reviews to fit on" in err and "econews_tone" in err


def test_learnt_backend_in_the_enricher_uses_the_shipped_model() -> None:
    from nlp.pipeline import get_enricher

    options = BackendOptions(learnt_sentiment=True)
    assert nlp_version(options).endswith("|sentiment=learnt") and nlp_version(options) != nlp_version()
    learnt = get_enricher(options)
    assert learnt.sentiment_scorer.name == "learnt"
    provenance = learnt.sentiment_scorer.model.provenance
    assert [e["file"] for e in provenance["fitted_on"]] == ["econews_tone_dev.csv"]
    assert "cross_domain" in provenance["figures"]
    texts = [
        "Wat een prachtig park is het geworden, echt genieten!",
        "Belachelijk en schandalig hoe de gemeente dit heeft geregeld.",
    ]
    assert [r.sentiment for r in learnt.enrich(texts)] == ["positive", "negative"]
    assert next(iter(learnt.enrich(["This is a lovely park, truly great"]))).sentiment == "neutral"
