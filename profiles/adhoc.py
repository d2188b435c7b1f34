"""Profile evidence and estimates for any table of texts, outside the warehouse (``betrokken
estimate``, ``betrokken eval profiles``, ``betrokken label fit``).

Rows are grouped into voices by a voice column (held in memory only, never printed or stored);
without one every row is its own voice. Only Dutch rows count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from nlp.pipeline import Enricher
from profiles.estimate import ShareEstimate, estimate_shares
from profiles.evidence import POST_SEPARATOR, EvidenceModel, features_of
from profiles.fit import LabelledVoice
from profiles.gap import GapRow, Thresholds, reach_gap
from profiles.model import ProfileModel


@dataclass
class TextVoice:
    """What the evidence model sees of one voice: the distinct words of each Dutch post and the
    signals that fired on any of them."""

    posts: list[frozenset[str]] = field(default_factory=list)
    signals: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class TextVoices:
    n_rows: int
    n_dutch: int
    voices: dict[str, TextVoice]


def voices_of_texts(
    enricher: Enricher,
    evidence: EvidenceModel,
    texts: Sequence[str],
    voice_keys: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
) -> TextVoices:
    """Group the Dutch rows into voices (by ``voice_keys``, else one voice a row)."""
    voices: dict[str, TextVoice] = {}
    n_dutch = 0
    for i, result in enumerate(enricher.enrich(texts)):
        if result.language != "nl":
            continue
        n_dutch += 1
        key = voice_keys[i] if voice_keys is not None and voice_keys[i] else f"row:{i}"
        channel = channels[i] if channels is not None else ""
        voice = voices.setdefault(key, TextVoice())
        voice.posts.append(result.words)
        voice.signals.update(evidence.fired(features_of(result, "csv", channel)))
    return TextVoices(len(texts), n_dutch, voices)


def labelled_voices(
    grouped: TextVoices, labels: dict[str, str], profile_ids: list[str]
) -> list[LabelledVoice]:
    """The grouped voices with their profile (``labels``: voice key -> profile id)."""
    return [
        LabelledVoice(tuple(v.posts), frozenset(v.signals), profile_ids.index(labels[key]))
        for key, v in grouped.voices.items()
        if key in labels
    ]


@dataclass(frozen=True)
class AdhocResult:
    n_rows: int
    n_dutch: int
    n_voices: int
    estimate: ShareEstimate | None
    gap: list[GapRow]


def estimate_texts(
    enricher: Enricher,
    evidence: EvidenceModel,
    texts: Sequence[str],
    authors: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    method: str | None = None,
    thresholds: Thresholds | None = None,
    n_boot: int = 1000,
    level: float = 0.9,
    seed: int = 0,
) -> AdhocResult:
    """Shares per profile among the voices in ``texts``; suppressed below the minimum cell size."""
    thresholds = thresholds or Thresholds()
    model: ProfileModel = evidence.model
    grouped = voices_of_texts(enricher, evidence, texts, authors, channels)
    n_voices = len(grouped.voices)
    estimate = None
    if n_voices >= thresholds.min_cell_size:
        posteriors = np.array(
            [evidence.posterior(v.signals, *evidence.text_of(v.posts)) for v in grouped.voices.values()]
        )
        estimate = estimate_shares(
            posteriors,
            evidence.posterior_prior,
            method=method,
            calibration=evidence.calibration,
            n_boot=n_boot,
            level=level,
            seed=seed,
            population=model.prior(),
            no_evidence=evidence.no_evidence,
        )
    return AdhocResult(
        grouped.n_rows, grouped.n_dutch, n_voices, estimate, reach_gap(model, estimate, n_voices, thresholds)
    )


class LabelledInputError(Exception):
    """A labelled CSV cannot be used; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class LabelledSet:
    """Labelled voices read from a CSV, with the voice keys (in memory only, never printed)."""

    voices: list[LabelledVoice]
    keys: frozenset[str]
    n_not_dutch: int  # labelled voices left out because none of their posts is Dutch


def read_labelled_voices(
    enricher: Enricher,
    evidence: EvidenceModel,
    path: Path,
    text_col: str,
    voice_col: str | None,
    label_col: str,
    channel_col: str | None = None,
) -> LabelledSet:
    """Labelled voices from a CSV: rows grouped by ``voice_col`` (else one voice a row), each
    voice with one profile id of the model in ``label_col``; rows with an empty label are skipped.
    A cell may hold several posts of a voice separated as `label export` writes them. Errors name
    the file and the line, never a voice (its key may be a person's handle)."""
    from nlp.evaluate import EvalInputError, read_csv_columns

    columns = [text_col, label_col, *(c for c in (voice_col, channel_col) if c)]
    try:
        rows = read_csv_columns(path, columns)
    except EvalInputError as exc:
        raise LabelledInputError(str(exc)) from None
    ids = evidence.model.profile_ids
    rows = [(line, r) for line, r in enumerate(rows, start=2) if r[label_col].strip()]
    labels: dict[str, str] = {}
    first_line: dict[str, int] = {}
    texts, keys, channels = [], [], []
    for line, row in rows:
        key = row[voice_col].strip() if voice_col else f"row:{line}"
        if not key:
            raise LabelledInputError(f"{path}: line {line}: the {voice_col!r} column is empty")
        profile = row[label_col].strip()
        if profile not in ids:
            raise LabelledInputError(
                f"{path}: line {line}: {profile!r} is not a profile of {evidence.model.id}: {ids}"
            )
        if labels.setdefault(key, profile) != profile:
            raise LabelledInputError(
                f"{path}: line {line}: the same voice as line {first_line[key]} with another profile"
            )
        first_line.setdefault(key, line)
        for post in row[text_col].split(POST_SEPARATOR):
            texts.append(post)
            keys.append(key)
            channels.append(row[channel_col] if channel_col else "")
    if not labels:
        raise LabelledInputError(f"{path}: no row has a profile in column {label_col!r}")
    grouped = voices_of_texts(enricher, evidence, texts, keys, channels)
    voices = labelled_voices(grouped, labels, ids)
    if not voices:
        raise LabelledInputError(f"{path}: none of the {len(labels)} labelled voices has a Dutch post")
    return LabelledSet(voices, frozenset(labels), len(labels) - len(voices))
