"""The project's topic labels of real text (bench/labels/): well-formed, and how agreement is counted."""

from __future__ import annotations

import pytest

from bench.topic_labels import LABELS, SAMPLES, SECOND_READINGS, agreement, read_labels
from nlp.topics import TopicMatcher


def test_every_label_is_a_taxonomy_topic_and_the_samples_do_not_overlap() -> None:
    ids = set(TopicMatcher().ids)
    seen: dict[str, set[int]] = {}  # per file of texts
    for name, (data_file, _, _) in SAMPLES.items():
        labels = read_labels(LABELS / name)
        assert labels, name
        rows = seen.setdefault(data_file, set())
        assert not rows & labels.keys(), f"{name} shares rows with another sample"
        rows |= labels.keys()
        assert {t for topics in labels.values() for t in topics} <= ids, name


def test_a_second_reading_labels_the_same_rows_with_taxonomy_topics() -> None:
    ids = set(TopicMatcher().ids)
    for first, second in SECOND_READINGS.items():
        a, b = read_labels(LABELS / first), read_labels(LABELS / second)
        assert a.keys() == b.keys()
        assert {t for topics in b.values() for t in topics} <= ids


def test_agreement_counts_topic_or_none_main_topic_and_micro_figures() -> None:
    first = {1: ["wonen"], 2: ["wonen", "afval"], 3: [], 4: [], 5: ["fiets"]}
    second = {1: ["wonen"], 2: ["afval"], 3: [], 4: ["afval"], 5: ["fiets", "wonen"]}
    a = agreement(first, second)
    assert a.rows == 5 and a.with_topic == (3, 4)
    # observed 4/5; expected 0.6 * 0.8 + 0.4 * 0.2 = 0.56
    assert a.topic_or_none_kappa == pytest.approx((0.8 - 0.56) / 0.44)
    assert a.same_main_topic == pytest.approx(2 / 3)  # row 2's first topics differ
    assert a.second_micro_precision == pytest.approx(3 / 5)
    assert a.second_micro_recall == pytest.approx(3 / 4)
    identical = agreement(first, first)
    assert identical.topic_or_none_kappa == pytest.approx(1.0) and identical.same_main_topic == 1.0


def test_agreement_refuses_readings_of_different_rows() -> None:
    with pytest.raises(ValueError, match="different rows"):
        agreement({1: []}, {2: []})


def test_the_head_is_trained_on_labels_apart_from_its_measure() -> None:
    """The topic head's training files exist, are known samples or second readings, and share no row
    with the sample it is measured on."""
    from bench.topic_labels import HEAD_MEASURES, HEAD_TRAINING, POST_MEASURES, SECOND_READINGS_OF

    measure = {row for name in HEAD_MEASURES for row in read_labels(LABELS / name)}
    assert len(measure) == 916 and not set(HEAD_MEASURES + POST_MEASURES) & set(HEAD_TRAINING)
    assert HEAD_MEASURES[2:] == ("econews_topics_independent_c.csv", "econews_topics_independent_d.csv")
    assert all(SAMPLES[name][2] == "independent" for name in HEAD_MEASURES)
    for name in HEAD_TRAINING:
        assert name in SAMPLES or name in SECOND_READINGS_OF, name
        assert not measure & read_labels(LABELS / name).keys(), name
    new = [read_labels(LABELS / f"econews_topics_train_{k}.csv") for k in "abcde"]
    assert [len(labels) for labels in new] == [300] * 5
    assert sum(1 for labels in new for topics in labels.values() if topics) > 5 * 150  # most have a topic


def test_head_training_joins_labels_to_text_and_names_a_missing_set(tmp_path) -> None:
    """Each training file (a second reading too) comes back with its rows' texts; without the real
    set the error names it."""
    from bench.topic_labels import HEAD_TRAINING, head_training

    with pytest.raises(FileNotFoundError, match=r"econews_tone_dev\.csv"):
        head_training(tmp_path)
    lines = ["text,label"] + [f"kop nummer {n},0" for n in range(1, 2717)]
    (tmp_path / "econews_tone_dev.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    samples = head_training(tmp_path)
    assert [f"{s.name}.csv" for s in samples] == list(HEAD_TRAINING)
    for sample in samples:
        assert sample.texts == [f"kop nummer {n}" for n in sample.rows]
        assert sample.gold == [read_labels(LABELS / f"{sample.name}.csv")[n] for n in sample.rows]


def test_pooled_figures_come_with_bootstrap_intervals(capsys) -> None:
    """bench/nlp.py's pooled line: each engine's figures with 95% intervals, and its precision minus
    the lexicon's on the same draws (none for the lexicon itself)."""
    from bench.nlp import _pooled_with_intervals

    gold = [{"wonen"}, {"afval"}, set(), {"wonen"}] * 10
    lexicon = [["wonen"], [], ["afval"], []] * 10  # precision 1/2
    perfect = [sorted(g) for g in gold]
    _pooled_with_intervals(gold, {"lexicon": lexicon, "perfect": perfect}, ["afval", "wonen"], draws=200)
    lexicon_line, perfect_line = capsys.readouterr().out.splitlines()
    assert "no topic (texts with a gold topic) 0.667" in lexicon_line and "minus" not in lexicon_line
    assert "best topic right 1.000 (1.000 to 1.000)" in perfect_line
    assert "micro precision 1.000, minus the lexicon's +0.500" in perfect_line
    # the same draws for both: the gap's interval holds the gap, and is narrower than either's spread
    gap_low, gap_high = (float(x) for x in perfect_line.split("+0.500 (")[1].split(")")[0].split(" to "))
    assert gap_low <= 0.5 <= gap_high and gap_high - gap_low < 0.5
    low, high = (
        float(x) for x in lexicon_line.split("best topic right 0.333 (")[1].split(")")[0].split(" to ")
    )
    assert low < 0.333 < high


def test_the_posts_are_labelled_whole_and_read_from_the_repository(tmp_path) -> None:
    """Every post of both writers has a label row, and the posts' texts come from the repository's
    copies, whatever the real sets' folder holds."""
    import csv

    from bench.topic_labels import POST_MEASURES, POSTS, load_samples

    samples = {s.name: s for s in load_samples(tmp_path)}  # an empty folder: only the posts
    assert set(samples) == {name.removesuffix(".csv") for name in POST_MEASURES}
    for name, writer in zip(POST_MEASURES, "ab", strict=True):
        with (POSTS / f"writer_{writer}.csv").open(encoding="utf-8", newline="") as handle:
            texts = [row["text"] for row in csv.DictReader(handle)]
        sample = samples[name.removesuffix(".csv")]
        assert sample.rows == list(range(1, len(texts) + 1)) and sample.texts == texts
        assert sample.role == "independent posts"
