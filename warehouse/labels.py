"""The labelling loop: export a stratified sample of voices, import researchers' labels, and read
labelled voices back as calibration for the share estimates.

The exported file holds a random voice id, the municipality and the voice's texts, and an empty
profile column: no author key, no predicted profile. The warehouse keeps, per voice id, only the
signals the voice showed (``label_voices``), not who it was: a label can never be joined back to a
person, and calibration needs nothing more than the signals.
"""

from __future__ import annotations

import csv
import secrets
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np

from common.csvfile import CsvError, read_csv
from profiles.evidence import POST_SEPARATOR, EvidenceModel, summed_text
from sources.base import post_text
from warehouse.db import transaction

# Every voice of the period (the voice_posts macro of migration 010: the same voices the estimate
# counts), with its texts in order and the distinct signals of its posts. A text purged after
# retention is left out; a voice with no text left cannot be labelled, so export_sample skips it.
VOICE_POSTS_SQL = """
SELECT v.author_key, v.municipality_id,
       list([p.title, p.text] ORDER BY p.created_utc, p.post_id) FILTER (WHERE p.text IS NOT NULL) AS texts,
       list_distinct(flatten(list(coalesce(s.signal_ids, [])))) AS signals,
       list(s.text_score ORDER BY v.post_id) FILTER (WHERE s.text_score IS NOT NULL) AS text_scores,
       list(s.text_weight ORDER BY v.post_id) FILTER (WHERE s.text_score IS NOT NULL) AS text_weights
FROM voice_posts($nlp, $start, $end) v
JOIN posts p ON p.post_id = v.post_id
LEFT JOIN post_signals s ON s.post_id = v.post_id AND s.profile_model = $model AND s.model_version = $mver
GROUP BY v.author_key, v.municipality_id
ORDER BY v.municipality_id, v.author_key
"""


class LabelError(Exception):
    """A label file cannot be imported; the message names the file, the line and the fix."""


def period_voices(
    con: duckdb.DuckDBPyConnection, evidence: EvidenceModel, nlp_version: str, start: date, end: date
) -> list[tuple]:
    """(author_key, municipality_id, texts, signals, text_scores, text_weights) of every voice of every
    municipality in the
    period, by the warehouse's one definition of a voice. The author key stays in memory."""
    model = evidence.model
    params = {"nlp": nlp_version, "model": model.id, "mver": evidence.version, "start": start, "end": end}
    rows = con.execute(VOICE_POSTS_SQL, params).fetchall()
    return [(*row[:2], [post_text(*parts) for parts in row[2] or []], *row[3:]) for row in rows]


def export_sample(
    con: duckdb.DuckDBPyConnection,
    evidence: EvidenceModel,
    nlp_version: str,
    as_of: date,
    period_days: int,
    n: int,
    out: Path,
    seed: int = 0,
) -> int:
    """Write up to ``n`` voices, stratified by their most likely profile, to ``out``; returns the count."""
    start, end = as_of - timedelta(days=period_days - 1), as_of  # the same window as the estimates
    model = evidence.model
    rows = period_voices(con, evidence, nlp_version, start, end)
    strata: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        if not row[2]:
            continue  # every text purged after retention: nothing to show a labeller
        strata[int(np.argmax(evidence.posterior(row[3], *summed_text(row[4], row[5]))))].append(row)
    rng = np.random.default_rng(seed)
    for members in strata.values():
        rng.shuffle(members)
    chosen: list[tuple] = []
    # round robin over strata, so rare predicted profiles are labelled too
    while len(chosen) < n and any(strata.values()):
        for key in sorted(strata):
            if strata[key] and len(chosen) < n:
                chosen.append(strata[key].pop())
    now = datetime.now(UTC)
    records = [(secrets.token_hex(6), row) for row in chosen]
    with transaction(con):
        con.executemany(
            "INSERT INTO label_voices (voice_id, municipality_id, period_start, period_end, profile_model, "
            "model_version, signal_ids, exported_at, text_score, text_weight) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (vid, row[1], start, end, model.id, evidence.version, list(row[3]), now, *_stored_text(row))
                for vid, row in records
            ],
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["voice_id", "municipality", "texts", "profile"])
        for vid, row in sorted(records):
            writer.writerow([vid, row[1], POST_SEPARATOR.join(row[2]), ""])
    return len(records)


def import_labels(
    con: duckdb.DuckDBPyConnection, path: Path, profile_ids: list[str], profile_model: str
) -> int:
    """Validate and store labels; rows with an empty profile are skipped. Returns the number stored."""
    try:
        rows = read_csv(path, ["voice_id", "profile"], hint="Keep the columns as label export wrote them.")
    except CsvError as exc:
        raise LabelError(str(exc)) from None
    known = {r[0] for r in con.execute("SELECT voice_id FROM label_voices").fetchall()}
    labels: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        vid, profile = row["voice_id"].strip(), row["profile"].strip()
        if not profile:
            continue
        if vid not in known:
            raise LabelError(f"{path}: line {line}: voice_id {vid!r} was not exported from this warehouse")
        if profile not in profile_ids:
            raise LabelError(f"{path}: line {line}: profile {profile!r} is not one of {profile_ids}")
        if vid in labels and labels[vid] != profile:
            raise LabelError(f"{path}: line {line}: voice {vid!r} has two different labels")
        labels[vid] = profile
    if not labels:
        raise LabelError(f"{path}: no row has a profile filled in; nothing to import")
    now = datetime.now(UTC)
    with transaction(con):
        con.executemany(
            "INSERT OR REPLACE INTO voice_labels VALUES (?, ?, ?, ?)",
            [(vid, profile_model, pid, now) for vid, pid in labels.items()],
        )
    return len(labels)


def labelled_posteriors(
    con: duckdb.DuckDBPyConnection,
    evidence: EvidenceModel,
    municipality_id: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(posteriors, label indices) of the labelled voices, from their posts in their export period."""
    model = evidence.model
    rows = con.execute(
        """
        SELECT lv.voice_id, vl.profile_id, lv.signal_ids, lv.text_score, lv.text_weight
        FROM voice_labels vl
        JOIN label_voices lv USING (voice_id)
        WHERE vl.profile_model = $model AND lv.profile_model = $model AND lv.model_version = $mver
          AND ($m IS NULL OR lv.municipality_id = $m)
        ORDER BY lv.voice_id
        """,
        {"model": model.id, "mver": evidence.version, "m": municipality_id},
    ).fetchall()
    ids = model.profile_ids
    k = len(ids)
    if not rows:
        return np.empty((0, k)), np.empty(0, dtype=int)
    posteriors = np.array(
        [evidence.posterior(r[2], None if r[3] is None else np.asarray(r[3]), r[4] or 0.0) for r in rows]
    )
    labels = np.array([ids.index(r[1]) for r in rows])
    return posteriors, labels


def _stored_text(row: tuple) -> tuple[list[float] | None, float | None]:
    score, weight = summed_text(row[4], row[5])
    return (None, None) if score is None else ([float(x) for x in score], weight)
