"""The project's own topic labels of real text (``bench/labels/``), joined to the text by row number.

The labels are ours; the text stays in the real sets' folder (``../shared/nlp_dev``), which a fresh
clone does not have, so every reader gets None when the text is absent. How the labels were made is
in the header of each labels file and in the README.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

LABELS = Path(__file__).resolve().parent / "labels"


@dataclass(frozen=True, slots=True)
class LabelledSample:
    """Texts with gold topic lists (main topic first; empty when no topic fits) and their row numbers."""

    name: str
    role: str  # "measure": never looked at to change anything; "development": the words may be revised on it;
    # "independent": labelled by a second annotator who saw neither the words nor any prediction
    rows: list[int]
    texts: list[str]
    gold: list[list[str]]


# labels file -> (the real set's file, its text column, role)
SAMPLES = {
    "econews_topics_sample.csv": ("econews_tone_dev.csv", "text", "measure"),
    "econews_topics_dev.csv": ("econews_tone_dev.csv", "text", "development"),
    "econews_topics_independent.csv": ("econews_tone_dev.csv", "text", "independent"),
}


def read_labels(path: Path) -> dict[int, list[str]]:
    """Row number -> topic ids of a labels file (lines starting with '#' are its header)."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    out: dict[int, list[str]] = {}
    for line in lines[1:]:
        row, _, topics = line.partition(",")
        out[int(row)] = [t for t in topics.split(";") if t]
    return out


def load_samples(folder: Path) -> list[LabelledSample]:
    """Every labelled sample whose real set is in ``folder``."""
    from nlp.evaluate import read_csv_columns

    samples = []
    for labels_file, (data_file, text_col, role) in SAMPLES.items():
        if not (folder / data_file).is_file():
            continue
        rows = read_csv_columns(folder / data_file, [text_col])
        gold = read_labels(LABELS / labels_file)
        numbers = sorted(gold)
        samples.append(
            LabelledSample(
                labels_file.removesuffix(".csv"),
                role,
                numbers,
                [rows[n - 1][text_col] for n in numbers],
                [gold[n] for n in numbers],
            )
        )
    return samples


# labels file -> the file with a second annotator's reading of the same rows
SECOND_READINGS = {"econews_topics_sample.csv": "econews_topics_sample_second.csv"}


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
