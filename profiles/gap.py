"""The reach gap: online share against population share, per profile, with a status.

The status says only what the interval of the representation index supports. ``proportional``
needs the whole interval inside a band around 1; ``absent``, ``under`` and ``over`` need it to
exclude 1; anything else is ``unknown``, with the reason: too few voices (even a perfect evidence
model could not tell with this many) or too little evidence (the evidence model is what is unsure).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from profiles.estimate import ShareEstimate, wilson_interval
from profiles.model import ProfileModel

STATUSES = ("absent", "under", "proportional", "over", "unknown", "suppressed")
REASON_FEW_VOICES = "few_voices"
REASON_LITTLE_EVIDENCE = "little_evidence"


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_cell_size: int = 10
    absent_below: float = 0.5
    under_below: float = 1.0
    over_above: float = 1.0
    proportional_low: float = 0.67
    proportional_high: float = 1.5


@dataclass(frozen=True, slots=True)
class GapRow:
    profile_id: str
    profile_name: str
    population_share: float
    population_share_is_assumption: bool
    online_share: float | None
    online_lower: float | None
    online_upper: float | None
    representation_index: float | None
    ri_lower: float | None
    ri_upper: float | None
    status: str
    status_reason: str | None = None  # why a status is ``unknown`` (or ``suppressed``)


def classify(ri_lower: float, ri_upper: float, t: Thresholds) -> str:
    """Absent/under only when the whole interval lies below 1 (absent: below ``absent_below``), over
    when it lies above 1, proportional when it lies inside the band, otherwise unknown."""
    if ri_upper < t.absent_below:
        return "absent"
    if ri_upper < t.under_below:
        return "under"
    if ri_lower > t.over_above:
        return "over"
    if t.proportional_low <= ri_lower and ri_upper <= t.proportional_high:
        return "proportional"
    return "unknown"


def unknown_reason(share: float, population_share: float, n_voices: int, level: float, t: Thresholds) -> str:
    """Few voices when even the sampling interval of a perfect evidence model (Wilson) around this
    share would not decide; otherwise the evidence model's uncertainty is what leaves it open."""
    lower, upper = wilson_interval(np.array([share]), n_voices, level)
    decided = classify(float(lower[0]) / population_share, float(upper[0]) / population_share, t)
    return REASON_FEW_VOICES if decided == "unknown" else REASON_LITTLE_EVIDENCE


def reach_gap(
    model: ProfileModel, estimate: ShareEstimate | None, n_voices: int, thresholds: Thresholds
) -> list[GapRow]:
    """One row per profile; with fewer voices than the minimum cell size no share is shown."""
    rows = []
    for i, profile in enumerate(model.profiles):
        pop = profile.population_share.value
        assumed = profile.population_share.assumption
        if estimate is None or n_voices < thresholds.min_cell_size:
            rows.append(
                GapRow(
                    profile.id,
                    profile.name,
                    pop,
                    assumed,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "suppressed",
                    REASON_FEW_VOICES,
                )
            )
            continue
        share, lower, upper = (float(estimate.share[i]), float(estimate.lower[i]), float(estimate.upper[i]))
        status = classify(lower / pop, upper / pop, thresholds)
        reason = None
        if status == "unknown":
            reason = unknown_reason(share, pop, n_voices, estimate.level, thresholds)
        rows.append(
            GapRow(
                profile.id,
                profile.name,
                pop,
                assumed,
                share,
                lower,
                upper,
                share / pop,
                lower / pop,
                upper / pop,
                status,
                reason,
            )
        )
    return rows
