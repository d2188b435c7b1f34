"""The reach gap: online share against population share, per profile, with a status."""

from __future__ import annotations

from dataclasses import dataclass

from profiles.estimate import ShareEstimate
from profiles.model import ProfileModel


@dataclass(frozen=True, slots=True)
class Thresholds:
    min_cell_size: int = 10
    absent_below: float = 0.5
    under_below: float = 1.0
    over_above: float = 1.0


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


def classify(ri_lower: float, ri_upper: float, t: Thresholds) -> str:
    """Absent or under only when the whole interval lies below the threshold; over when above."""
    if ri_upper < t.absent_below:
        return "absent"
    if ri_upper < t.under_below:
        return "under"
    if ri_lower > t.over_above:
        return "over"
    return "proportional"


def reach_gap(
    model: ProfileModel, estimate: ShareEstimate | None, n_voices: int, thresholds: Thresholds
) -> list[GapRow]:
    """One row per profile; with fewer voices than the minimum cell size no share is shown."""
    rows = []
    for i, profile in enumerate(model.profiles):
        pop = profile.population_share.value
        if estimate is None or n_voices < thresholds.min_cell_size:
            rows.append(
                GapRow(
                    profile.id,
                    profile.name,
                    pop,
                    profile.population_share.assumption,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "suppressed",
                )
            )
            continue
        share, lower, upper = (float(estimate.share[i]), float(estimate.lower[i]), float(estimate.upper[i]))
        ri, ri_lo, ri_hi = share / pop, lower / pop, upper / pop
        rows.append(
            GapRow(
                profile.id,
                profile.name,
                pop,
                profile.population_share.assumption,
                share,
                lower,
                upper,
                ri,
                ri_lo,
                ri_hi,
                classify(ri_lo, ri_hi, thresholds),
            )
        )
    return rows
