"""The enrich stage: NLP and profile signals for stored posts that do not have them yet.

Enrichment is keyed by post and NLP version (and checked against the content hash), so a rerun does
no NLP for posts it already saw, and a new NLP version re-enriches everything that still has text.
Each batch is written in one transaction: a killed run loses at most the batch in flight.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from nlp.pipeline import Enricher
from profiles.evidence import EvidenceModel, features_of
from warehouse import faults
from warehouse.db import insert_rows, transaction

BATCH = 500
ENRICHMENT_COLUMNS = (
    "post_id",
    "nlp_version",
    "content_hash",
    "language",
    "sentiment",
    "sentiment_score",
    "trust",
    "n_tokens",
    "enriched_at",
)

# ``replaces``: the post has rows of this NLP version or profile model to replace (its text changed,
# or its signals are missing); only those are deleted before the insert.
PENDING_SQL = """
SELECT p.post_id, p.content_hash, p.source, p.channel, p.author_key IS NOT NULL AS has_voice,
       coalesce(p.title || chr(10), '') || coalesce(p.text, '') AS full_text,
       e.post_id IS NOT NULL OR s.post_id IS NOT NULL AS replaces
FROM posts p
LEFT JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = $nlp
LEFT JOIN post_signals s ON s.post_id = p.post_id AND s.profile_model = $model AND s.model_version = $mver
WHERE p.municipality_id IS NOT NULL
  AND p.duplicate_of IS NULL
  AND NOT p.is_deleted
  AND p.text IS NOT NULL
  AND (
    e.post_id IS NULL
    OR e.content_hash <> p.content_hash
    OR (p.source = 'reddit' AND p.author_key IS NOT NULL AND s.post_id IS NULL)
  )
ORDER BY p.post_id
"""


def count_pending(con: duckdb.DuckDBPyConnection, nlp_version: str, evidence: EvidenceModel) -> int:
    params = {"nlp": nlp_version, "model": evidence.model.id, "mver": evidence.model.version_tag()}
    return con.execute(f"SELECT count(*) FROM ({PENDING_SQL})", params).fetchone()[0]


def pending_posts(
    con: duckdb.DuckDBPyConnection, nlp_version: str, evidence: EvidenceModel
) -> list[tuple[Any, ...]]:
    """(post_id, content_hash, source, channel, has_voice, full_text, replaces) of every post to
    enrich."""
    params = {"nlp": nlp_version, "model": evidence.model.id, "mver": evidence.model.version_tag()}
    return con.execute(PENDING_SQL, params).fetchall()


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch of posts yields: rows for the three tables, computed without the warehouse,
    so a worker anywhere can compute it and the flow process writes it."""

    nlp_version: str
    profile_model: tuple[str, str]  # id and version
    post_ids: list[str]
    replaced: list[str]  # posts whose earlier rows of this version are deleted first
    enrichment: list[tuple[Any, ...]]
    topics: list[tuple[Any, ...]]
    signals: list[tuple[Any, ...]]


def compute_batch(batch: list[tuple[Any, ...]], enricher: Enricher, evidence: EvidenceModel) -> BatchResult:
    """NLP and profile signals for pending rows (as ``pending_posts`` returns them)."""
    model, model_version = evidence.model.id, evidence.model.version_tag()
    results = enricher.enrich([row[5] for row in batch])
    now = datetime.now(UTC)
    enrichment_rows, topic_rows, signal_rows = [], [], []
    for (post_id, digest, source, channel, has_voice, *_), result in zip(batch, results, strict=True):
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
            fired = evidence.fired(features_of(result, source, channel)) if result.language == "nl" else []
            signal_rows.append((post_id, model, model_version, fired))
    return BatchResult(
        enricher.version,
        (model, model_version),
        [row[0] for row in batch],
        [row[0] for row in batch if row[6]],
        enrichment_rows,
        topic_rows,
        signal_rows,
    )


def write_batch(con: duckdb.DuckDBPyConnection, result: BatchResult) -> None:
    """One transaction per batch: a killed run loses at most the batch in flight."""
    with transaction(con):
        if result.replaced:  # rare: a delete scans the table, an insert of new posts need not
            for table in ("enrichment", "post_topics"):
                con.execute(
                    f"DELETE FROM {table} WHERE nlp_version = ? AND post_id IN (SELECT unnest(?))",
                    [result.nlp_version, result.replaced],
                )
            con.execute(
                "DELETE FROM post_signals WHERE profile_model = ? AND model_version = ? "
                "AND post_id IN (SELECT unnest(?))",
                [*result.profile_model, result.replaced],
            )
        insert_rows(con, "enrichment", ENRICHMENT_COLUMNS, result.enrichment)
        insert_rows(
            con, "post_topics", ("post_id", "nlp_version", "topic_id", "score", "evidence"), result.topics
        )
        insert_rows(
            con,
            "post_signals",
            ("post_id", "profile_model", "model_version", "signal_ids"),
            result.signals,
        )
        faults.point("enrich:before-commit")
    faults.point("enrich:after-commit")


def batches(rows: list[tuple[Any, ...]], size: int = BATCH) -> list[list[tuple[Any, ...]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def enrich_pending(
    con: duckdb.DuckDBPyConnection,
    enricher: Enricher,
    evidence: EvidenceModel,
    batch_size: int = BATCH,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Enrich every pending post in this process; returns how many. ``progress(done)`` per batch."""
    done = 0
    for batch in batches(pending_posts(con, enricher.version, evidence), batch_size):
        write_batch(con, compute_batch(batch, enricher, evidence))
        done += len(batch)
        if progress is not None:
            progress(done)
    return done
