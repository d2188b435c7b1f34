"""The researcher-facing NLP commands: betrokken nlp and betrokken eval."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app

SENTIMENT_CSV = """tekst,oordeel
"Wat een prachtig park is het geworden.
Echt genieten hier!",1
"Belachelijk, de bus rijdt niet meer en niemand legt uit waarom.",-1
"De raad vergadert dinsdag om acht uur.",0
"Geen verbetering, alleen maar meer gedoe 🙄",-1
"""


def _last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_cli_eval_sentiment_three_way_with_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    path.write_text(SENTIMENT_CSV, encoding="utf-8")
    result = CliRunner().invoke(
        app, ["eval", "sentiment", "--csv", str(path), "--text-col", "tekst", "--label-col", "oordeel"]
    )
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["task"] == "sentiment" and report["backend"] == "lexicon" and report["n"] == 4
    assert report["mode"] == "three-way"
    assert 0 <= report["accuracy"] <= 1 and 0 <= report["macro_f1"] <= 1 and report["docs_per_s"] > 0
    assert set(report["per_class"]) == {"negative", "neutral", "positive"}
    assert report["per_class"]["negative"]["support"] == 2
    # always "negative": right on 2 of 4; F1 2/3 for negative, 0 for the others
    assert report["majority_baseline"] == {"label": "negative", "accuracy": 0.5, "macro_f1": 0.2222}


def test_cli_eval_sentiment_binary_when_two_classes(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text(
        'text,label\n"Heerlijk boek, aanrader",pos\n"Saai en te lang",neg\n'
        '"Niet slecht, best leuk zelfs",positive\n"Nooit meer, wat een teleurstelling",NEG\n'
    )
    report = _last_json(CliRunner().invoke(app, ["eval", "sentiment", "--csv", str(path)]).output)
    assert report["mode"] == "binary" and set(report["per_class"]) == {"negative", "positive"}
    assert report["accuracy"] == pytest.approx(1.0)


def test_cli_eval_rejects_bad_labels_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("text,label\nGoed zo,misschien\n")
    result = CliRunner().invoke(app, ["eval", "sentiment", "--csv", str(path)])
    assert result.exit_code == 2 and "row 1" in result.output and "'misschien'" in result.output
    result = CliRunner().invoke(app, ["eval", "sentiment", "--csv", str(path), "--text-col", "body"])
    assert result.exit_code == 2 and "no column 'body'" in result.output
    result = CliRunner().invoke(app, ["eval", "topics", "--csv", str(path), "--label-col", "label"])
    assert result.exit_code == 2 and "unknown topic id" in result.output


def test_cli_eval_topics_multi_label(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        'text,topic\n"Mijn parkeervergunning is weer duurder",verkeer_parkeren\n'
        '"Windturbines bij het dorp en de raad besluit dinsdag",energie_klimaat;bestuur_participatie\n'
        '"Lekker weer vandaag",\n'
    )
    result = CliRunner().invoke(app, ["eval", "topics", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["task"] == "topics" and report["n"] == 3
    assert report["per_class"]["verkeer_parkeren"]["recall"] == 1.0
    assert report["per_class"]["energie_klimaat"]["support"] == 1
    assert {"micro_precision", "micro_recall", "micro_f1"} <= set(report)
    assert report["no_topic_share"] == pytest.approx(1 / 3, abs=1e-4)  # the weather


def test_cli_nlp_writes_one_object_per_row_in_order(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(SENTIMENT_CSV.replace("tekst,oordeel", "text,label"), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["nlp", "--csv", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["row"] for r in records] == [0, 1, 2, 3]
    for r in records:
        assert set(r) >= {"row", "language", "topics", "sentiment", "sentiment_score", "trust"}
        assert r["sentiment"] in {"negative", "neutral", "positive"} and -1 <= r["sentiment_score"] <= 1
    assert records[0]["sentiment"] == "positive" and records[1]["sentiment"] == "negative"
    assert "openbaar_vervoer" in [t["id"] for t in records[1]["topics"]]


def test_cli_estimate_on_any_table_of_texts(tmp_path: Path) -> None:
    import csv as csvlib

    from sources.reddit_mapping import iter_thread
    from sources.sample import SAMPLE_DIR

    threads = json.loads((SAMPLE_DIR / "reddit.json").read_text(encoding="utf-8"))
    items = [d for t in threads for kind, d in iter_thread(t) if d.get("author") != "[deleted]"]
    path = tmp_path / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csvlib.writer(handle)
        writer.writerow(["bericht", "auteur", "kanaal"])
        for d in items:
            writer.writerow(
                [
                    (d.get("title", "") + "\n" + d.get("selftext", d.get("body", ""))).strip(),
                    d["author"],
                    "r/" + d["subreddit"],
                ]
            )
    result = CliRunner().invoke(
        app,
        [
            "estimate",
            "--csv",
            str(path),
            "--text-col",
            "bericht",
            "--author-col",
            "auteur",
            "--channel-col",
            "kanaal",
        ],
    )
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["method"] == "bayes" and 50 <= report["n_voices"] <= 130  # the nightly run's default
    shares = [p["share"] for p in report["profiles"]]
    assert sum(shares) == pytest.approx(1.0)
    assert all(p["lower"] <= p["share"] <= p["upper"] for p in report["profiles"])
    assert {p["status"] for p in report["profiles"]} <= {"absent", "under", "proportional", "over", "unknown"}
    assert all((p["status"] == "unknown") == (p["status_reason"] is not None) for p in report["profiles"])
    assert not any(d["author"] in result.output for d in items)  # authors group rows, never shown
    few = CliRunner().invoke(
        app, ["estimate", "--csv", str(path), "--text-col", "bericht", "--model", "burgerschapsstijlen"]
    )
    assert _last_json(few.output)["profile_model"] == "burgerschapsstijlen"


# Tiny stand-ins for the real sets, in their file names and formats, written for these tests: the
# real files live outside the repository and a fresh clone has none.
REAL_SUBTITLES = """text,label
Wat een heerlijke dag was het.,1
"Ik haat dit, echt vreselijk.",-1
Dit slaat nergens op.,-1
"""
REAL_HEADLINES = (
    "text,label\nDe winst van het bedrijf steeg flink,1\nFabriek ontslaat honderden werknemers,-1\n"
    "Kabinet praat dinsdag verder,0\nBank opent kantoor in Zwolle,0\n"
)
REAL_TOPICS = """text,topic
De huisarts in ons dorp stopt en de wachtlijst voor ouderenzorg groeit.,health
Het ziekenhuis zoekt meer verpleegkundigen.,health
Het zwembad en de sportvelden gaan in de zomer dicht.,sports
De voetbalclub won de finale met twee doelpunten.,sports
De gemeenteraad stemt dinsdag over de begroting van de wethouder.,politics
De minister sprak in het parlement over nieuwe wetten.,politics
Met de nachttrein ben je in een dag in Wenen.,travel
De bus naar het vliegveld rijdt elk uur.,travel
"""


def _real_folder(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "nlp_dev"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_cli_eval_real_sentiment_reads_each_set_and_names_the_missing(tmp_path: Path) -> None:
    folder = _real_folder(
        tmp_path, **{"xed_subtitles_binary.csv": REAL_SUBTITLES, "econews_tone_dev.csv": REAL_HEADLINES}
    )
    result = CliRunner().invoke(app, ["eval", "sentiment", "--real", str(folder)])
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["task"] == "sentiment" and report["backend"] == "lexicon" and report["missing"] == []
    subtitles, headlines = report["datasets"]
    assert (subtitles["dataset"], subtitles["mode"], subtitles["n"]) == ("xed_subtitles", "binary", 3)
    assert subtitles["accuracy"] == pytest.approx(1.0)
    assert subtitles["majority_baseline"] == {"label": "negative", "accuracy": 0.6667, "macro_f1": 0.4}
    assert (headlines["dataset"], headlines["mode"], headlines["n"]) == ("econews_tone", "three-way", 4)
    assert headlines["majority_baseline"]["label"] == "neutral"
    assert headlines["majority_baseline"]["accuracy"] == pytest.approx(0.5)

    (folder / "econews_tone_dev.csv").unlink()
    result = CliRunner().invoke(app, ["eval", "sentiment", "--real", str(folder)])
    assert result.exit_code == 0, result.output
    assert "econews_tone_dev.csv: not there, skipped" in result.output
    report = _last_json(result.output)
    assert [d["dataset"] for d in report["datasets"]] == ["xed_subtitles"]
    assert report["missing"] == ["econews_tone_dev.csv"]


def test_cli_eval_real_topics_scores_only_the_mapped_topics(tmp_path: Path) -> None:
    folder = _real_folder(tmp_path, **{"sib200_topics.csv": REAL_TOPICS})
    result = CliRunner().invoke(app, ["eval", "topics", "--real", str(folder)])
    assert result.exit_code == 0, result.output
    (report,) = _last_json(result.output)["datasets"]
    assert report["dataset"] == "sib200_topics" and report["n"] == 8
    per_class = report["per_class"]
    assert set(per_class) == {"zorg_welzijn", "sport_cultuur", "bestuur_participatie"}
    assert per_class["zorg_welzijn"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert per_class["sport_cultuur"]["recall"] == 1.0 and per_class["bestuur_participatie"]["recall"] == 1.0
    # the bus to the airport and the night train get openbaar_vervoer, outside the mapping: neither
    # wrong nor right here, but a topic all the same
    assert report["accuracy"] == pytest.approx(8 / 8)
    assert report["no_topic_share"] == 0.0
    assert report["top_topic_accuracy"] == 1.0  # of the six sentences with a mapped topic
    assert report["label_map"]["health"] == "zorg_welzijn" and report["label_map"]["travel"] is None


def test_cli_eval_real_rejects_what_it_cannot_read(tmp_path: Path) -> None:
    empty = _real_folder(tmp_path)
    result = CliRunner().invoke(app, ["eval", "topics", "--real", str(empty)])
    assert result.exit_code == 2 and "none of the real topics sets is there" in result.output
    assert "Traceback" not in result.output
    result = CliRunner().invoke(app, ["eval", "sentiment", "--real", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such folder" in result.output
    (empty / "sib200_topics.csv").write_text("text,topic\nHet dorp ligt aan zee.,weather\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["eval", "topics", "--real", str(empty)])
    assert result.exit_code == 2 and "row 1" in result.output and "not in the mapping" in result.output
    for args in ([], ["--csv", str(empty / "sib200_topics.csv"), "--real", str(empty)]):
        result = CliRunner().invoke(app, ["eval", "sentiment", *args])
        assert result.exit_code == 2 and "give either --csv FILE or --real FOLDER" in result.output


def test_cli_eval_real_sentiment_learnt_warns_on_the_set_it_was_fitted_on(tmp_path: Path) -> None:
    folder = _real_folder(
        tmp_path, **{"xed_subtitles_binary.csv": REAL_SUBTITLES, "econews_tone_dev.csv": REAL_HEADLINES}
    )
    result = CliRunner().invoke(app, ["eval", "sentiment", "--real", str(folder), "--backend", "learnt"])
    assert result.exit_code == 0, result.output
    report = _last_json(result.output)
    assert report["backend"] == "learnt"
    subtitles, headlines = report["datasets"]
    # the shipped model was fitted on econews_tone_dev.csv: a figure on that file is no measurement
    assert headlines["fitted_on_these_rows"] is True and "fitted_on_these_rows" not in subtitles
    assert "the learnt sentiment was fitted on econews_tone_dev.csv" in result.output
    lexicon = _last_json(CliRunner().invoke(app, ["eval", "sentiment", "--real", str(folder)]).output)
    assert "fitted_on_these_rows" not in lexicon["datasets"][1]
    result = CliRunner().invoke(app, ["eval", "sentiment", "--real", str(folder), "--backend", "bert"])
    assert (
        result.exit_code == 2
        and "expected 'lexicon', 'learnt', 'embeddings' or 'transformers'" in result.output
    )


def test_cli_nlp_explain_says_what_made_each_sentiment(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text(
        'text\n"Het park is niet mooi, maar de speeltuin is echt leuk!"\n"What a lovely park this is"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["nlp", "--csv", str(path), "--explain"])
    assert result.exit_code == 0, result.output
    dutch, english = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [e["feature"] for e in dutch["sentiment_evidence"]] == [
        "negated word:mooi",
        "contrast:maar",
        "word:leuk",
        "exclamation mark",
    ]
    assert english["language"] != "nl" and english["sentiment_evidence"] == []
    plain = CliRunner().invoke(app, ["nlp", "--csv", str(path)])
    assert "sentiment_evidence" not in plain.output

    result = CliRunner().invoke(
        app, ["nlp", "--csv", str(path), "--explain", "--sentiment-backend", "learnt"]
    )
    assert result.exit_code == 0, result.output
    evidence = json.loads(result.output.splitlines()[0])["sentiment_evidence"]
    features = [e["feature"] for e in evidence]
    assert features[0] == "bias" and "lexicon:lexicon score" in features and "lexicon:negator" in features
    assert all(set(e) == {"feature", "polarity", "neutral"} for e in evidence)

    result = CliRunner().invoke(app, ["nlp", "--csv", str(path), "--sentiment-backend", "bert"])
    assert result.exit_code == 2 and "expected 'lexicon', 'learnt' or 'embeddings'" in result.output
    assert "Traceback" not in result.output
