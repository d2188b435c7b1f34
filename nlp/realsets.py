"""The real labelled Dutch sets the NLP is measured on, known by their file names (issue #21).

They are not shipped with the package: they live in a folder beside the checkout (``../shared/nlp_dev``
on the project's machine), whose README gives each file's source and licence. A fresh clone has no
such folder, so callers get the sets that are present and the ones that are missing, never an error
for a missing file.

Not in ``nlp/data`` on purpose: every file there is part of the NLP version, and describing an
evaluation set must not make the nightly run enrich every post again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

# SIB-200's seven general topics onto the municipal taxonomy, decided from the topic names and the
# taxonomy's descriptions before anything was measured, and not tuned on the sentences. The set is not
# about municipal policy, so this checks the topic machinery on text nobody here wrote (does a health
# sentence reach `zorg_welzijn`?); it says nothing about how well the taxonomy fits municipal posts.
# Unmapped topics (None) have no counterpart: their sentences count only as negatives of the mapped
# topics. Entertainment (films, concerts, nightlife) lies between `sport_cultuur` and `evenementen`,
# and travel (flights, hotels, tourism) is not `openbaar_vervoer`, so neither is mapped.
SIB200_TOPIC_MAP: Mapping[str, str | None] = MappingProxyType(
    {
        "health": "zorg_welzijn",
        "sports": "sport_cultuur",
        "politics": "bestuur_participatie",
        "science/technology": None,
        "travel": None,
        "entertainment": None,
        "geography": None,
    }
)


@dataclass(frozen=True, slots=True)
class RealSet:
    """One labelled file: what it measures and which column holds the gold label."""

    name: str
    file: str
    task: str  # "sentiment" or "topics", the `betrokken eval` subcommand that reads it
    label_col: str
    about: str
    text_col: str = "text"
    topic_map: Mapping[str, str | None] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""  # who made it and its licence, for the provenance of anything fitted on it


REAL_SETS: tuple[RealSet, ...] = (
    RealSet(
        "xed_subtitles",
        "xed_subtitles_binary.csv",
        "sentiment",
        "label",
        "film subtitle lines, negative/positive (labels projected from English/Finnish, noisy)",
        source="XED, Öhman et al. (COLING 2020), github.com/Helsinki-NLP/XED, Dutch projections; CC BY 4.0",
    ),
    RealSet(
        "econews_tone",
        "econews_tone_dev.csv",
        "sentiment",
        "label",
        "economic news headlines, tone -1/0/1 (coded by trained coders)",
        source="van Atteveldt, van der Velden & Boukes (2021), Communication Methods and Measures; "
        "github.com/vanatteveldt/ecosent, MIT; the headlines are the newspapers' (2015)",
    ),
    RealSet(
        "sib200_topics",
        "sib200_topics.csv",
        "topics",
        "topic",
        "general-domain sentences in 7 topics; health, sports and politics mapped onto the taxonomy",
        topic_map=SIB200_TOPIC_MAP,
        source="SIB-200, Adelani et al. (2024), Apache-2.0; sentences from FLORES-200, CC BY-SA 4.0",
    ),
)


def locate(folder: Path, task: str | None = None) -> tuple[list[tuple[RealSet, Path]], list[RealSet]]:
    """The sets of ``task`` (all when None) that ``folder`` holds, with their paths, and those it lacks."""
    present: list[tuple[RealSet, Path]] = []
    missing: list[RealSet] = []
    for real_set in REAL_SETS:
        if task is not None and real_set.task != task:
            continue
        path = folder / real_set.file
        if path.is_file():
            present.append((real_set, path))
        else:
            missing.append(real_set)
    return present, missing
