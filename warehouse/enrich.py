"""The enrich stage: NLP and profile signals for stored posts that do not have them yet.

Enrichment is keyed by post and NLP version (and checked against the content hash), so a rerun does
no NLP for posts it already saw, and a new NLP version re-enriches everything that still has text.
Each batch is written in one transaction: a killed run loses at most the batch in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import duckdb

from nlp.pipeline import Enricher
from profiles.evidence import EvidenceModel, features_of
from warehouse import faults
from warehouse.db import transaction

BATCH = 500

PENDING_SQL = """
SELECT p.post_id, p.content_hash, p.source, p.channel, p.author_key IS NOT NULL AS has_voice,
       coalesce(p.title || chr(10), '') || coalesce(p.text, '') AS full_text
FROM posts p
LEFT JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = $nlp AND e.content_hash = p.content_hash
LEFT JOIN post_signals s ON s.post_id = p.post_id AND s.profile_model = $model AND s.model_version = $mver
WHERE p.municipality_id IS NOT NULL
  AND p.duplicate_of IS NULL
  AND NOT p.is_deleted
  AND p.text IS NOT NULL
  AND (e.post_id IS NULL OR (p.source = 'reddit' AND p.author_key IS NOT NULL AND s.post_id IS NULL))
ORDER BY p.post_id
"""


def count_pending(con: duckdb.DuckDBPyConnection, nlp_version: str, evidence: EvidenceModel) -> int:
    params = {"nlp": nlp_version, "model": evidence.model.id, "mver": evidence.model.version_tag()}
    return con.execute(f"SELECT count(*) FROM ({PENDING_SQL})", params).fetchone()[0]


def enrich_pending(
    con: duckdb.DuckDBPyConnection,
    enricher: Enricher,
    evidence: EvidenceModel,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Enrich every pending post; returns how many were enriched. ``progress(done)`` after each batch."""
    params = {"nlp": enricher.version, "model": evidence.model.id, "mver": evidence.model.version_tag()}
    pending = con.execute(PENDING_SQL, params).fetchall()
    done = 0
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        results = enricher.enrich([row[5] for row in batch])
        now = datetime.now(UTC)
        enrichment_rows, topic_rows, signal_rows = [], [], []
        for (post_id, digest, source, channel, has_voice, _), result in zip(batch, results, strict=True):
            enrichment_rows.append(
                (
                    post_id,
                    enricher.version,
                    digest,
                    result.language,
                    result.sentiment,
                    result.sentiment_score,
                    result.trust,
                    result.n_tokens,
                    now,
                )
            )
            topic_rows.extend(
                (post_id, enricher.version, hit.id, hit.score, list(hit.evidence)) for hit in result.topics
            )
            if source == "reddit" and has_voice:
                fired = (
                    evidence.fired(features_of(result, source, channel)) if result.language == "nl" else []
                )
                signal_rows.append((post_id, params["model"], params["mver"], fired))
        ids = [row[0] for row in batch]
        with transaction(con):
            con.execute(
                "DELETE FROM enrichment WHERE nlp_version = ? AND post_id IN (SELECT unnest(?))",
                [enricher.version, ids],
            )
            con.execute(
                "DELETE FROM post_topics WHERE nlp_version = ? AND post_id IN (SELECT unnest(?))",
                [enricher.version, ids],
            )
            con.executemany("INSERT INTO enrichment VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", enrichment_rows)
            if topic_rows:
                con.executemany("INSERT INTO post_topics VALUES (?, ?, ?, ?, ?)", topic_rows)
            if signal_rows:
                con.executemany("INSERT OR REPLACE INTO post_signals VALUES (?, ?, ?, ?)", signal_rows)
            faults.point("enrich:before-commit")
        faults.point("enrich:after-commit")
        done += len(batch)
        if progress is not None:
            progress(done)
    return done
