"""The project's own topic labels of real text (``bench/labels/``), joined to the text by row number.

The labels are ours; the text stays in the real sets' folder (``../shared/nlp_dev``), which a fresh
clone does not have, so every reader gets None when the text is absent. How the labels were made is
in the header of each labels file and in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LABELS = Path(__file__).resolve().parent / "labels"
# Posts written for the project by writers outside it (the profile development voices; copies in the
# repository): the only texts here about municipal policy in residents' words that nobody here wrote.
POSTS = Path(__file__).resolve().parent.parent / "tests" / "data" / "profile_dev"


@dataclass(frozen=True, slots=True)
class LabelledSample:
    """Texts with gold topic lists (main topic first; empty when no topic fits) and their row numbers."""

    name: str
    role: str  # "measure": never looked at to change anything; "development": the words may be revised on it;
    # "independent": labelled by another annotator who saw neither the words nor any prediction;
    # "training": labelled by further annotators like "independent", for fitting the topic head;
    # "independent posts": like "independent", of posts rather than headlines
    rows: list[int]
    texts: list[str]
    gold: list[list[str]]


# labels file -> (the text's file in the real sets' folder, or a path of its own; its text column; role)
SAMPLES = {
    "econews_topics_sample.csv": ("econews_tone_dev.csv", "text", "measure"),
    "econews_topics_dev.csv": ("econews_tone_dev.csv", "text", "development"),
    "econews_topics_independent.csv": ("econews_tone_dev.csv", "text", "independent"),
    "econews_topics_train_a.csv": ("econews_tone_dev.csv", "text", "training"),
    "econews_topics_train_b.csv": ("econews_tone_dev.csv", "text", "training"),
    "econews_topics_train_c.csv": ("econews_tone_dev.csv", "text", "training"),
    "econews_topics_train_d.csv": ("econews_tone_dev.csv", "text", "training"),
    "econews_topics_train_e.csv": ("econews_tone_dev.csv", "text", "training"),
    "econews_topics_independent_b.csv": ("econews_tone_dev.csv", "text", "independent"),
    "econews_topics_independent_c.csv": ("econews_tone_dev.csv", "text", "independent"),
    "econews_topics_independent_d.csv": ("econews_tone_dev.csv", "text", "independent"),
    "profile_dev_topics_a.csv": (str(POSTS / "writer_a.csv"), "text", "independent posts"),
    "profile_dev_topics_b.csv": (str(POSTS / "writer_b.csv"), "text", "independent posts"),
}
# The labels the fitted topic head (``nlp.fit_topics``) learns from, with the second reading of the
# measuring sample as examples of their own; the independent samples are the head's measures and never here.
HEAD_TRAINING = (
    "econews_topics_dev.csv",
    "econews_topics_sample.csv",
    "econews_topics_sample_second.csv",
    "econews_topics_train_a.csv",
    "econews_topics_train_b.csv",
    "econews_topics_train_c.csv",
    "econews_topics_train_d.csv",
    "econews_topics_train_e.csv",
)
# The first was measured against every head since there is one; _b, _c and _d were labelled later on
# 2026-12-07, _b before the head of f53bc03 was measured and _c, _d (the 516 rows no earlier sample
# drew) after, so that its figures stand on labels no choice was made on.
HEAD_MEASURES = tuple(f"econews_topics_independent{part}.csv" for part in ("", "_b", "_c", "_d"))
POST_MEASURES = ("profile_dev_topics_a.csv", "profile_dev_topics_b.csv")


# labels file -> the file with a second annotator's reading of the same rows
SECOND_READINGS = {"econews_topics_sample.csv": "econews_topics_sample_second.csv"}
SECOND_READINGS_OF = {second: first for first, second in SECOND_READINGS.items()}


def read_labels(path: Path) -> dict[int, list[str]]:
    """Row number -> topic ids of a labels file (lines starting with '#' are its header)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    out: dict[int, list[str]] = {}
    for line in lines[1:]:
        row, _, topics = line.partition(",")
        out[int(row)] = [t for t in topics.split(";") if t]
    return out


def load_samples(folder: Path) -> list[LabelledSample]:
    """Every labelled sample whose texts are there: the real sets' in ``folder``, the posts always."""
    return [
        _sample(folder, labels_file, data_file, text_col, role)
        for labels_file, (data_file, text_col, role) in SAMPLES.items()
        if (folder / data_file).is_file()
    ]


def head_training(folder: Path) -> list[LabelledSample]:
    """The labelled samples the topic head is fitted on (``HEAD_TRAINING``); FileNotFoundError naming
    the real set when ``folder`` lacks it."""
    out = []
    for labels_file in HEAD_TRAINING:
        first = SECOND_READINGS_OF.get(labels_file, labels_file)
        data_file, text_col, _ = SAMPLES[first]
        if not (folder / data_file).is_file():
            raise FileNotFoundError(f"{folder / data_file}: the real set the topic labels are of is missing")
        out.append(_sample(folder, labels_file, data_file, text_col, "training"))
    return out


def _sample(folder: Path, labels_file: str, data_file: str, text_col: str, role: str) -> LabelledSample:
    """A labels file joined to its real set's text by row number."""
    from nlp.evaluate import read_csv_columns

    rows = read_csv_columns(folder / data_file, [text_col])  # an absolute data_file stays as it is
    gold = read_labels(LABELS / labels_file)
    numbers = sorted(gold)
    return LabelledSample(
        labels_file.removesuffix(".csv"),
        role,
        numbers,
        [rows[n - 1][text_col] for n in numbers],
        [gold[n] for n in numbers],
    )


@dataclass(frozen=True, slots=True)
class Agreement:
    """How far two annotators' topic labels of the same rows agree: the ceiling a classifier measured
    against one of them can be expected to reach."""

    rows: int
    with_topic: tuple[int, int]  # rows each annotator gave a topic
    topic_or_none_kappa: float  # Cohen's kappa of "has a topic" against "no topic"
    same_main_topic: float  # of the rows both gave a topic, the share with the same first topic
    second_micro_precision: float  # the second reading scored against the first as gold
    second_micro_recall: float


def agreement(first: dict[int, list[str]], second: dict[int, list[str]]) -> Agreement:
    """Agreement of two readings of the same rows (``read_labels`` of each file)."""
    if first.keys() != second.keys():
        raise ValueError("the two readings label different rows")
    n = len(first)
    has_first = sum(1 for r in first if first[r])
    has_second = sum(1 for r in first if second[r])
    observed = sum(1 for r in first if bool(first[r]) == bool(second[r])) / n
    p1, p2 = has_first / n, has_second / n
    expected = p1 * p2 + (1 - p1) * (1 - p2)
    both = [r for r in first if first[r] and second[r]]
    shared = sum(len(set(first[r]) & set(second[r])) for r in first)
    return Agreement(
        rows=n,
        with_topic=(has_first, has_second),
        topic_or_none_kappa=(observed - expected) / (1 - expected) if expected < 1 else 1.0,
        same_main_topic=sum(1 for r in both if first[r][0] == second[r][0]) / len(both) if both else 0.0,
        second_micro_precision=shared / max(1, sum(len(v) for v in second.values())),
        second_micro_recall=shared / max(1, sum(len(v) for v in first.values())),
    )


def second_readings() -> list[tuple[str, Agreement]]:
    """The agreement of every labels file that has a second reading."""
    return [
        (first, agreement(read_labels(LABELS / first), read_labels(LABELS / second)))
        for first, second in SECOND_READINGS.items()
    ]
