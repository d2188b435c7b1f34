"""The estimate stage: voices per municipality (and per topic and channel) in a period, their
posteriors in memory, bias-corrected shares with intervals, and the reach gap into the warehouse.

Only aggregates are written: shares per profile per group and how many voices showed each signal.
No per-voice posterior or profile is stored anywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from profiles.estimate import estimate_shares
from profiles.evidence import EVIDENCE_SHIPPED, EvidenceModel, summed_texts
from profiles.gap import Thresholds, reach_gap
from warehouse.db import insert_rows, transaction
from warehouse.labels import labelled_posteriors

# Stored beside the primary (configured) method, for the sensitivity of the shares to the method.
METHODS = ("bayes", "pcc")
# Under the hand-set evidence, from this many voices labelled in the warehouse on they calibrate the
# estimates (of Bayesian CC, or PACC when configured); a fitted evidence file brings its own.
MIN_LABELLED_VOICES = 30

# A municipality's kind as the last run recorded it (migration 013); no row or NULL: not known. Read
# through the row as JSON, so that a report that estimates in memory on a warehouse opened read-only
# before migration 013 finds no kind instead of failing on the missing column.
MUNICIPALITY_KIND_SQL = "SELECT to_json(m) ->> 'kind' FROM municipalities m WHERE municipality_id = $m"

# The voices of one municipality in the period (see the voice_posts macro of migration 010, the one
# definition of a voice): per voice the signals, the topics and the channels of its posts, and its
# posts' text evidence (migration 011), one row per post before they are added up. A voice whose
# posts have no topic joins no topic group; it counts for the municipality as a whole.
VOICES_SQL = """
WITH topics AS (
    SELECT post_id, list(topic_id) AS topic_ids FROM post_topics WHERE nlp_version = $nlp GROUP BY post_id
)
SELECT list_distinct(flatten(list(coalesce(s.signal_ids, [])))) AS signals,
       list_distinct(flatten(list(coalesce(t.topic_ids, [])))) AS topics,
       list_distinct(list(v.channel)) AS channels,
       list(s.text_score ORDER BY v.post_id) FILTER (WHERE s.text_score IS NOT NULL) AS text_scores,
       list(s.text_weight ORDER BY v.post_id) FILTER (WHERE s.text_score IS NOT NULL) AS text_weights
FROM voice_posts($nlp, $start, $end) v
LEFT JOIN post_signals s ON s.post_id = v.post_id AND s.profile_model = $model AND s.model_version = $mver
LEFT JOIN topics t ON t.post_id = v.post_id
WHERE v.municipality_id = $m
GROUP BY v.author_key
ORDER BY v.author_key
"""


@dataclass(frozen=True, slots=True)
class EstimateSettings:
    period_days: int
    method: str
    n_boot: int
    level: float
    seed: int
    thresholds: Thresholds
    evidence: str = EVIDENCE_SHIPPED  # see profiles.evidence.evidence_for


def period_for(as_of: date, days: int) -> tuple[date, date]:
    return as_of - timedelta(days=days - 1), as_of


SHARE_COLUMNS = (
    "group_key",
    "run_id",
    "municipality_id",
    "period_start",
    "period_end",
    "topic_id",
    "channel",
    "profile_model",
    "profile_id",
    "profile_name",
    "method",
    "is_primary",
    "n_voices",
    "n_voices_with_evidence",
    "population_share",
    "population_share_is_assumption",
    "online_share",
    "online_lower",
    "online_upper",
    "representation_index",
    "ri_lower",
    "ri_upper",
    "status",
    "status_reason",
)
ADVICE_COLUMNS = ("group_key", "profile_id", "aspect", "advice", "source", "is_assumption")


@dataclass(frozen=True, slots=True)
class Estimates:
    """The aggregates of one municipality and period, ready to store or to show."""

    municipality_id: str
    profile_model: str
    period_start: date
    period_end: date
    shares: list[tuple]
    signals: list[tuple[str, str, int]]
    advice: list[tuple[str, str, str, str, str | None, bool]]

    def share_records(self) -> list[dict]:
        return [dict(zip(SHARE_COLUMNS, row, strict=True)) for row in self.shares]


def compute_estimates(
    con: duckdb.DuckDBPyConnection,
    municipality_id: str,
    evidence: EvidenceModel,
    nlp_version: str,
    period: tuple[date, date],
    settings: EstimateSettings,
    run_id: int,
    overall_only: bool = False,
) -> Estimates:
    """Estimate all groups (all, per topic, per channel) of one municipality, or with
    ``overall_only`` the municipality as a whole; reads only."""
    model = evidence.model
    start, end = period
    params = {
        "nlp": nlp_version,
        "m": municipality_id,
        "start": start,
        "end": end,
        "model": model.id,
        "mver": evidence.version,
    }
    voices = con.execute(VOICES_SQL, params).fetchall()
    groups: dict[tuple[str | None, str | None], list[int]] = {(None, None): list(range(len(voices)))}
    for i, (_, topics, channels, _, _) in enumerate([] if overall_only else voices):
        for topic in topics:
            groups.setdefault((topic, None), []).append(i)
        for channel in channels:
            groups.setdefault((None, channel), []).append(i)
    k = len(model.profiles)
    scores, weights = summed_texts([v[3] for v in voices], [v[4] for v in voices], k)
    posteriors = evidence.posteriors([v[0] for v in voices], scores, weights).reshape(-1, k)
    calibration = evidence.calibration
    if calibration is None and evidence.text is None:
        labelled = labelled_posteriors(con, evidence)
        calibration = labelled if len(labelled[1]) >= MIN_LABELLED_VOICES else None
    primary = settings.method
    methods = tuple(dict.fromkeys((primary, *METHODS)))
    prior, no_evidence = evidence.posterior_prior, evidence.no_evidence
    rows, signal_rows, advice_rows = [], [], []
    # only the advice that fits the kind of municipality (all of it when its kind is not known)
    kind = con.execute(MUNICIPALITY_KIND_SQL, {"m": municipality_id}).fetchone()
    advice_of = {p.id: [a for a in p.advice if a.fits(kind and kind[0])] for p in model.profiles}
    for (topic, channel), members in sorted(groups.items(), key=lambda g: (g[0][0] or "", g[0][1] or "")):
        key = f"{municipality_id}|{start}|{end}|{topic or '*'}|{channel or '*'}|{model.id}"
        n = len(members)
        with_evidence = sum(1 for i in members if voices[i][0] or sum(voices[i][4] or ()) > 0)
        suppressed = n < settings.thresholds.min_cell_size
        counts = Counter(s for i in members for s in voices[i][0])
        if not suppressed:
            signal_rows.extend((key, s, c) for s, c in sorted(counts.items()))
        for method in methods:
            estimate = None
            if not suppressed:
                estimate = estimate_shares(
                    posteriors[members],
                    prior,
                    method=method,
                    calibration=calibration if method in ("pacc", "acc", "kdey", "bayes") else None,
                    n_boot=settings.n_boot,
                    level=settings.level,
                    seed=settings.seed,
                    population=model.prior(),
                    no_evidence=no_evidence,
                )
            for row in reach_gap(model, estimate, n, settings.thresholds):
                if method == primary and row.status in ("absent", "under"):
                    advice_rows.extend(
                        (key, row.profile_id, a.aspect, a.text, a.source, a.assumption)
                        for a in advice_of[row.profile_id]
                    )
                rows.append(
                    (
                        key,
                        run_id,
                        municipality_id,
                        start,
                        end,
                        topic,
                        channel,
                        model.id,
                        row.profile_id,
                        row.profile_name,
                        method,
                        method == primary,
                        n,
                        with_evidence,
                        row.population_share,
                        row.population_share_is_assumption,
                        row.online_share,
                        row.online_lower,
                        row.online_upper,
                        row.representation_index,
                        row.ri_lower,
                        row.ri_upper,
                        row.status,
                        row.status_reason,
                    )
                )
    return Estimates(municipality_id, model.id, start, end, rows, signal_rows, advice_rows)


def store_estimates(con: duckdb.DuckDBPyConnection, est: Estimates) -> int:
    """Replace the stored aggregates of this municipality, period and model; returns rows written."""
    with transaction(con):
        prefix = f"{est.municipality_id}|{est.period_start}|{est.period_end}|"
        con.execute(
            "DELETE FROM share_estimates WHERE starts_with(group_key, ?) AND profile_model = ?",
            [prefix, est.profile_model],
        )
        suffix = f"|{est.profile_model}"
        for table in ("estimate_signals", "gap_advice"):
            con.execute(
                f"DELETE FROM {table} WHERE starts_with(group_key, ?) AND ends_with(group_key, ?)",
                [prefix, suffix],
            )
        insert_rows(con, "share_estimates", SHARE_COLUMNS, est.shares)
        insert_rows(con, "estimate_signals", ("group_key", "signal_id", "n_voices"), est.signals)
        insert_rows(con, "gap_advice", ADVICE_COLUMNS, est.advice, or_replace=True)
    return len(est.shares)


def estimate_municipality(
    con: duckdb.DuckDBPyConnection,
    municipality_id: str,
    evidence: EvidenceModel,
    nlp_version: str,
    as_of: date,
    settings: EstimateSettings,
    run_id: int,
) -> int:
    """Estimate all groups of one municipality for the configured period and store them."""
    period = period_for(as_of, settings.period_days)
    return store_estimates(
        con, compute_estimates(con, municipality_id, evidence, nlp_version, period, settings, run_id)
    )
