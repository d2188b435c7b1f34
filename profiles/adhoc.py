"""Profile estimation on any table of texts, outside the warehouse (``betrokken estimate``).

Rows are grouped into voices by the author column (held in memory only, never printed or stored);
without an author column every row is its own voice. Only Dutch rows count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlp.pipeline import Enricher
from profiles.estimate import ShareEstimate, estimate_shares
from profiles.evidence import EvidenceModel, features_of
from profiles.gap import GapRow, Thresholds, reach_gap
from profiles.model import ProfileModel


@dataclass(frozen=True)
class AdhocResult:
    n_rows: int
    n_dutch: int
    n_voices: int
    estimate: ShareEstimate | None
    gap: list[GapRow]


def estimate_texts(
    enricher: Enricher,
    model: ProfileModel,
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
    evidence = EvidenceModel(model)
    signals: dict[str, set[str]] = {}
    n_dutch = 0
    for i, result in enumerate(enricher.enrich(texts)):
        if result.language != "nl":
            continue
        n_dutch += 1
        voice = authors[i] if authors is not None and authors[i] else f"row:{i}"
        channel = channels[i] if channels is not None else ""
        signals.setdefault(voice, set()).update(evidence.fired(features_of(result, "csv", channel)))
    n_voices = len(signals)
    estimate = None
    if n_voices >= thresholds.min_cell_size:
        posteriors = np.array([evidence.posterior(s) for s in signals.values()])
        estimate = estimate_shares(
            posteriors, model.prior(), method=method, n_boot=n_boot, level=level, seed=seed
        )
    return AdhocResult(
        len(texts), n_dutch, n_voices, estimate, reach_gap(model, estimate, n_voices, thresholds)
    )
