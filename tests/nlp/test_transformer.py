"""The transformer backends on tiny randomly initialised models that the tests build offline."""

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test builds and loads a model: seconds, not milliseconds
torch = pytest.importorskip("torch", reason="the transformers extra is not installed")
transformers = pytest.importorskip("transformers", reason="the transformers extra is not installed")

from typer.testing import CliRunner  # noqa: E402

from flows.cli import app  # noqa: E402
from nlp.topics import TopicMatcher  # noqa: E402
from nlp.transformer import TransformerSentiment, TransformerUnavailable, ZeroShotTopics  # noqa: E402

WORDS = [
    "de",
    "het",
    "een",
    "en",
    "is",
    "niet",
    "wel",
    "goed",
    "slecht",
    "mooi",
    "lelijk",
    "gemeente",
    "parkeren",
    "fiets",
    "bus",
    "speeltuin",
    "azc",
    "windturbine",
    "raad",
    "dit",
    "bericht",
    "gaat",
    "over",
    "wonen",
    "afval",
    "groen",
    "veiligheid",
    "zorg",
    ".",
    ",",
    "!",
]


def _tiny_model(folder: Path, labels: dict[int, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = transformers.BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=len(labels),
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def sentiment_dir(tmp_path_factory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("models") / "sentiment", {0: "Negative", 1: "Positive"})


@pytest.fixture(scope="module")
def nli_dir(tmp_path_factory) -> Path:
    return _tiny_model(
        tmp_path_factory.mktemp("models") / "nli", {0: "entailment", 1: "neutral", 2: "contradiction"}
    )


TEXTS = ["De speeltuin is mooi!", "Parkeren is slecht.", "", "gemeente " * 400, "Fiets en bus, goed."]


def test_transformer_sentiment_batches_truncates_and_maps_labels(sentiment_dir: Path) -> None:
    backend = TransformerSentiment(str(sentiment_dir), device="cpu", batch_size=2, max_length=32)
    results = backend.predict(TEXTS)
    assert len(results) == len(TEXTS)
    assert all(r.label in {"negative", "neutral", "positive"} and -1 <= r.score <= 1 for r in results)
    assert results == backend.predict(TEXTS)  # deterministic in eval mode
    # the score is P(positive) - P(negative) of the network, computed here independently
    encoded = backend.tokenizer(TEXTS[:2], padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.no_grad():
        probs = backend.network(**encoded).logits.softmax(-1)
    for result, row in zip(results[:2], probs.tolist(), strict=True):
        assert result.score == pytest.approx(row[1] - row[0], abs=1e-4)


def test_zero_shot_topics_give_probabilities_per_topic(nli_dir: Path) -> None:
    topics = TopicMatcher().topics[:4]
    everything = ZeroShotTopics(topics, str(nli_dir), device="cpu", threshold=0.0, batch_size=3).predict(
        TEXTS[:3]
    )
    assert [len(row) for row in everything] == [4, 4, 4]
    assert all(0 <= p <= 1 for row in everything for _, p in row)
    assert {t for t, _ in everything[0]} == {t.id for t in topics}
    strict = ZeroShotTopics(topics, str(nli_dir), device="cpu", threshold=1.01).predict(TEXTS[:3])
    assert strict == [[], [], []]


def test_missing_model_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(TransformerUnavailable, match="betrokken models download"):
        TransformerSentiment(str(tmp_path / "nowhere"))


def test_a_sentiment_model_needs_sentiment_labels(nli_dir: Path) -> None:
    with pytest.raises(TransformerUnavailable, match="needs a negative and a positive label"):
        TransformerSentiment(str(nli_dir))


def test_cli_eval_sentiment_with_the_transformer_backend(sentiment_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "s.csv"
    csv.write_text('text,label\n"De speeltuin is mooi",positive\n"Parkeren is slecht",negative\n')
    result = CliRunner().invoke(
        app,
        ["eval", "sentiment", "--csv", str(csv), "--backend", "transformers", "--model", str(sentiment_dir)],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == "transformers" and report["n"] == 2 and report["docs_per_s"] > 0


def test_cli_eval_real_sets_with_the_transformer_backend(sentiment_dir: Path, tmp_path: Path) -> None:
    """--real with a transformer: each real sentiment set goes through the model, not the lexicon."""
    folder = tmp_path / "nlp_dev"
    folder.mkdir()
    (folder / "xed_subtitles_binary.csv").write_text("text,label\nDe speeltuin is mooi,1\nSlecht,-1\n")
    (folder / "econews_tone_dev.csv").write_text("text,label\nDe bus is goed,1\nDe raad is,0\nAfval,-1\n")
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "sentiment",
            "--real",
            str(folder),
            "--backend",
            "transformers",
            "--model",
            str(sentiment_dir),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == "transformers" and report["missing"] == []
    assert [(d["dataset"], d["backend"], d["n"]) for d in report["datasets"]] == [
        ("xed_subtitles", "transformers", 2),
        ("econews_tone", "transformers", 3),
    ]


def test_cli_models_download_fails_clearly_offline(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = CliRunner().invoke(app, ["models", "download", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert "not downloaded" in result.output


def test_enricher_uses_the_configured_backends(sentiment_dir: Path, nli_dir: Path) -> None:
    from flows.config import parse_settings
    from nlp.pipeline import Enricher
    from nlp.version import BackendOptions, nlp_version

    options = BackendOptions(
        sentiment_model=str(sentiment_dir),
        zero_shot_model=str(nli_dir),
        zero_shot_threshold=0.01,
        device="cpu",
    )
    assert nlp_version(options) != nlp_version() and str(sentiment_dir) in nlp_version(options)
    enricher = Enricher(options)
    texts = ["De speeltuin is echt mooi geworden, goed gedaan.", "Where is the bike parking here?"]
    results = list(enricher.enrich(texts, batch_size=1))
    expected = enricher.sentiment_backend.predict(texts[:1])[0]
    assert (results[0].sentiment, results[0].sentiment_score) == (expected.label, expected.score)
    assert results[0].topics and all(h.evidence == ("zero-shot",) for h in results[0].topics)
    assert results[1].language == "en" and results[1].topics == () and results[1].sentiment_score == 0.0
    settings = parse_settings(
        {
            "nlp": {"sentiment_backend": "transformers", "sentiment_model": "x"},
            "municipalities": [{"id": "u", "name": "U", "cbs_code": "GM0344"}],
        },
        "t",
    )
    assert settings.nlp.backend_options() == BackendOptions(sentiment_model="x")


def test_cli_eval_topics_with_zero_shot(nli_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "t.csv"
    csv.write_text('text,topic\n"De speeltuin is mooi",spelen\n"Parkeren is slecht",verkeer_parkeren\n')
    result = CliRunner().invoke(
        app,
        [
            "eval",
            "topics",
            "--csv",
            str(csv),
            "--backend",
            "zero-shot",
            "--model",
            str(nli_dir),
            "--threshold",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["backend"] == "zero-shot" and report["n"] == 2


def test_cli_eval_real_topics_with_zero_shot(nli_dir: Path, tmp_path: Path) -> None:
    """--real with the zero-shot backend: SIB-200's labels go through the same mapping."""
    folder = tmp_path / "nlp_dev"
    folder.mkdir()
    (folder / "sib200_topics.csv").write_text("text,topic\nDe zorg is goed,health\nDe bus is mooi,travel\n")
    result = CliRunner().invoke(
        app, ["eval", "topics", "--real", str(folder), "--backend", "zero-shot", "--model", str(nli_dir)]
    )
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output.strip().splitlines()[-1])["datasets"]
    assert report["backend"] == "zero-shot" and report["n"] == 2
    assert set(report["per_class"]) == {"zorg_welzijn", "sport_cultuur", "bestuur_participatie"}
    assert report["per_class"]["zorg_welzijn"]["support"] == 1
