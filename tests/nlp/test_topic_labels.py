"""The project's topic labels of real text (bench/labels/): well-formed, and how agreement is counted."""

from __future__ import annotations

import pytest

from bench.topic_labels import LABELS, SAMPLES, SECOND_READINGS, agreement, read_labels
from nlp.topics import TopicMatcher


def test_every_label_is_a_taxonomy_topic_and_the_samples_do_not_overlap() -> None:
    ids = set(TopicMatcher().ids)
    seen: set[int] = set()
    for name in SAMPLES:
        labels = read_labels(LABELS / name)
        assert labels, name
        assert not seen & labels.keys(), f"{name} shares rows with another sample"
        seen |= labels.keys()
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
