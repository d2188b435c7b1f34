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
