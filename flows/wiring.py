"""What a configuration turns into for the stages: the live sources, the gazetteer, the estimation
settings and the municipalities' rows.

Kept free of Prefect, so the stages can also be run and measured without it (bench/pipeline.py).
"""

from __future__ import annotations

import json
from typing import Any

from flows.config import Estimation, Settings
from profiles.gap import Thresholds
from profiles.model import load_model, read_population_shares
from sources.base import Source
from sources.gazetteer import shipped as shipped_names
from sources.gazetteer import shipped_kind
from sources.pseudonym import Pseudonymiser
from sources.registry import build_sources, channels
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.estimates import EstimateSettings


def gazetteer_for(settings: Settings) -> Gazetteer:
    """Names from the config, merged with the gazetteer the project ships for the CBS code."""
    entries = []
    configured = settings.model_dump(mode="json")["municipalities"]  # as the registry reads them
    for m, plain in zip(settings.municipalities, configured, strict=True):
        names = shipped_names(m.cbs_code)
        aliases = tuple(dict.fromkeys((m.name, *m.aliases, *names.aliases)))
        places = tuple(dict.fromkeys((*m.place_names, *names.places)))
        entries.append(GazetteerEntry(m.id, aliases, places, channels(plain)))
    return Gazetteer(entries)


def live_sources(settings: Settings, pseudonymiser: Pseudonymiser, notes: list[str]) -> list[Source]:
    """The configured live sources, from the registry of platforms (``sources.registry``); a
    platform without the credentials it needs is skipped, with one line in ``notes``."""
    return build_sources(settings.model_dump(mode="json"), pseudonymiser, notes)


def estimate_settings(e: Estimation) -> EstimateSettings:
    return EstimateSettings(
        period_days=e.period_days,
        method=e.method,
        evidence=e.evidence,
        n_boot=e.n_boot,
        level=e.level,
        seed=e.seed,
        thresholds=Thresholds(
            e.min_cell_size,
            e.absent_below,
            e.under_below,
            e.over_above,
            proportional_low=e.proportional_low,
            proportional_high=e.proportional_high,
        ),
    )


def municipality_rows(settings: Settings) -> list[tuple[Any, ...]]:
    """What the warehouse keeps of each configured municipality, for reports drawn without config."""
    rows = []
    for m in settings.municipalities:
        shares = None
        if m.population_shares is not None:
            ids = load_model(settings.profile_model).profile_ids
            shares = json.dumps(read_population_shares(m.population_shares, ids))
        kind = m.kind or shipped_kind(m.cbs_code)
        rows.append((m.id, m.name, m.cbs_code, settings.profile_model, shares, kind))
    return rows
