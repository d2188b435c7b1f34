"""The enrich stage: NLP and profile signals for stored posts that do not have them yet.

Enrichment is keyed by post and NLP version (and checked against the content hash), so a rerun does
no NLP for posts it already saw, and a new NLP version re-enriches everything that still has text.
Each task's results are written in one transaction: a killed run loses at most the task in flight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import duckdb

from profiles.evidence import EvidenceModel, features_of
from sources.base import post_text
from warehouse import faults
from warehouse.db import insert_rows, transaction

if TYPE_CHECKING:  # spaCy is imported only where the NLP runs
    from nlp.pipeline import Enricher

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
# or its signals are missing); only those are deleted before the insert. ``{among}``: optionally
# only some posts (see ``pending_posts``).
# ``{columns}``: what ``pending_posts`` or ``pending_state`` reads of each pending post.
PENDING_SQL = """
SELECT {columns}
FROM counted_posts(NULL, NULL) p
LEFT JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = $nlp
LEFT JOIN post_signals s ON s.post_id = p.post_id AND s.profile_model = $model AND s.model_version = $mver
WHERE {among} p.text IS NOT NULL
  AND (
    e.post_id IS NULL
    OR e.content_hash <> p.content_hash
    OR (is_residents(p.kind, p.author_key) AND s.post_id IS NULL)
  )
ORDER BY p.post_id
"""


_REPLACES = "e.post_id IS NOT NULL OR s.post_id IS NOT NULL AS replaces"
_ROW_COLUMNS = (
    "p.post_id, p.content_hash, p.source, p.channel, is_residents(p.kind, p.author_key) AS has_voice, "
    f"p.title, p.text, {_REPLACES}"
)
_STATE_COLUMNS = f"p.post_id, p.content_hash, {_REPLACES}"


def count_pending(con: duckdb.DuckDBPyConnection, nlp_version: str, evidence: EvidenceModel) -> int:
    params = {"nlp": nlp_version, "model": evidence.model.id, "mver": evidence.version}
    sql = PENDING_SQL.format(columns="p.post_id", among="")
    return con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()[0]


def pending_state(
    con: duckdb.DuckDBPyConnection, nlp_version: str, evidence: EvidenceModel
) -> dict[str, tuple[str, bool]]:
    """post id -> (content hash, replaces) of every post to enrich: what ``finish`` checks early
    results against, without reading the texts: they were handed to the workers during the store,
    and reading them again cost the run's tail 0.6-0.8 s at 100,000 posts (0.2-0.3 s without)."""
    params = {"nlp": nlp_version, "model": evidence.model.id, "mver": evidence.version}
    rows = con.execute(PENDING_SQL.format(columns=_STATE_COLUMNS, among=""), params).fetchall()
    return {post_id: (digest, replaces) for post_id, digest, replaces in rows}


def pending_posts(
    con: duckdb.DuckDBPyConnection,
    nlp_version: str,
    evidence: EvidenceModel,
    among: list[str] | None = None,
) -> list[tuple[Any, ...]]:
    """(post_id, content_hash, source, channel, has_voice, full_text, replaces) of every post to
    enrich, or only of those among the given ids (the store stage's new rows, say)."""
    params: dict[str, Any] = {
        "nlp": nlp_version,
        "model": evidence.model.id,
        "mver": evidence.version,
    }
    if among is None:
        rows = con.execute(PENDING_SQL.format(columns=_ROW_COLUMNS, among=""), params).fetchall()
    else:
        sql = PENDING_SQL.format(columns=_ROW_COLUMNS, among="p.post_id IN (SELECT unnest($among)) AND")
        rows = con.execute(sql, {**params, "among": among}).fetchall()
    return [(*row[:5], post_text(row[5], row[6]), row[7]) for row in rows]


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

    @staticmethod
    def joined(results: list[BatchResult]) -> BatchResult:
        """Several batches' rows as one result, written in one transaction with one insert per
        table (at 100k posts 5.5 s in 197 transactions of three inserts each, 1.9 s in ten)."""
        if len(results) == 1:
            return results[0]
        return BatchResult(
            results[0].nlp_version,
            results[0].profile_model,
            [post_id for r in results for post_id in r.post_ids],
            [post_id for r in results for post_id in r.replaced],
            [row for r in results for row in r.enrichment],
            [row for r in results for row in r.topics],
            [row for r in results for row in r.signals],
        )

    def still_pending(self, pending: Mapping[str, tuple[str, bool]]) -> BatchResult:
        """Only the posts that are pending now (``pending_state``) with the content hash this result
        was computed for, and replacing what the pending state says: a result computed early (while
        the store stage ran) is written only if it is still wanted."""
        keep = {
            row[0] for row in self.enrichment if (now := pending.get(row[0])) is not None and now[0] == row[2]
        }
        if len(keep) == len(self.post_ids):
            replaced = [post_id for post_id in self.post_ids if pending[post_id][1]]
            return replace(self, replaced=replaced)
        return BatchResult(
            self.nlp_version,
            self.profile_model,
            [post_id for post_id in self.post_ids if post_id in keep],
            [post_id for post_id in self.post_ids if post_id in keep and pending[post_id][1]],
            [row for row in self.enrichment if row[0] in keep],
            [row for row in self.topics if row[0] in keep],
            [row for row in self.signals if row[0] in keep],
        )


def _has_voice(row: tuple[Any, ...]) -> bool:
    """Whether a pending row (``pending_posts``) is a resident's post, on any platform: its profile
    evidence counts (migration 012's ``is_residents``)."""
    return row[4]


def compute_batch(batch: list[tuple[Any, ...]], enricher: Enricher, evidence: EvidenceModel) -> BatchResult:
    """NLP and profile signals for pending rows (as ``pending_posts`` returns them)."""
    model, model_version = evidence.model.id, evidence.version
    results = list(enricher.enrich([row[5] for row in batch]))
    now = datetime.now(UTC)
    voiced = [
        i
        for i, (row, r) in enumerate(zip(batch, results, strict=True))
        if _has_voice(row) and r.language == "nl"
    ]
    # a batch's word evidence at once: its new words are scored in one array operation
    texts = {}
    if evidence.text is not None:
        scores, weights = evidence.posts_text([results[i].words for i in voiced])
        texts = dict(zip(voiced, zip(scores.tolist(), weights.tolist(), strict=True), strict=True))
    dutch_voices = set(voiced)
    enrichment_rows, topic_rows, signal_rows = [], [], []
    for i, ((post_id, digest, source, channel, *_), result) in enumerate(zip(batch, results, strict=True)):
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
        if _has_voice(batch[i]):
            fired = evidence.fired(features_of(result, source, channel)) if i in dutch_voices else []
            text_score, weight = texts.get(i, (None, None))
            signal_rows.append((post_id, model, model_version, fired, text_score, weight))
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
    """One transaction per result (a batch, or a task's batches joined): a killed run loses at
    most the result in flight, whose posts stay pending."""
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
            ("post_id", "profile_model", "model_version", "signal_ids", "text_score", "text_weight"),
            result.signals,
        )
        faults.point("enrich:before-commit")
    faults.point("enrich:after-commit")


def batches(rows: list[tuple[Any, ...]], size: int = BATCH) -> list[list[tuple[Any, ...]]]:
    return [rows[i : i + size] for i in range(0, len(rows), size)]


Group = list[list[tuple[Any, ...]]]  # batches of pending rows, computed together as one task


class Outcome(Protocol):
    """What a submitted group gives back: a Prefect or concurrent future, or ``Deferred``."""

    def result(self) -> list[BatchResult]: ...


class Deferred:
    """A group computed in this process when its result is asked for, not when it is submitted."""

    def __init__(self, group: Group, enricher: Enricher, evidence: EvidenceModel) -> None:
        self._compute = lambda: [compute_batch(batch, enricher, evidence) for batch in group]

    def result(self) -> list[BatchResult]:
        return self._compute()


class EnrichmentRun:
    """The NLP of one run: groups of pending posts go to ``submit`` (a task runner, a process
    pool, or this process), and the results are written here, a group in one transaction.

    ``take`` is the store stage's hook (``store_result(on_chunk=...)``): it submits the pending
    posts of each stored chunk at once, so that where ``submit`` computes in other processes their
    NLP runs while the next chunk is stored. ``finish`` asks the warehouse which posts are pending
    now, the source of truth: a result computed early is written only if its post is still pending
    with the same content (a post deleted or changed since: nothing is written), and
    pending posts not yet submitted are submitted then.
    """

    def __init__(
        self,
        version: str,
        evidence: EvidenceModel,
        submit: Callable[[Group], Outcome],
        batch_size: int = BATCH,
        tasks: int | None = None,
    ) -> None:
        self.version = version
        self.evidence = evidence
        self.submit = submit
        self.batch_size = batch_size
        self.tasks = tasks  # into how many groups ``finish`` splits its posts (None: one per batch)
        self.taken: dict[str, str] = {}  # post id -> content hash, of posts submitted so far
        self.outcomes: list[Outcome] = []

    def take(self, con: duckdb.DuckDBPyConnection, post_ids: list[str]) -> None:
        """Submit the pending posts among ``post_ids`` as one group."""
        rows = pending_posts(con, self.version, self.evidence, among=post_ids)
        if rows:
            self._submit(rows, groups=1)

    def finish(
        self,
        con: duckdb.DuckDBPyConnection,
        progress: Callable[[int], AbstractContextManager[Callable[[int], None]]] | None = None,
    ) -> int:
        """Write the enrichment of every pending post; returns how many posts were written.
        ``progress(total)`` (``flows.progress.stage_progress``, say) gives ``update(done)``."""
        pending = pending_state(con, self.version, self.evidence)
        if not pending and not self.outcomes:
            return 0  # nothing new: the NLP pipeline is not even loaded
        rest = [post_id for post_id, (digest, _) in pending.items() if self.taken.get(post_id) != digest]
        if rest:  # the texts of the posts not handed out yet (all of them, if none were)
            among = rest if self.taken else None
            self._submit(pending_posts(con, self.version, self.evidence, among), groups=self.tasks)
        done = 0
        with progress(len(pending)) if progress else nullcontext(lambda _: None) as update:
            for outcome in self.outcomes:  # a group's batches in one transaction
                kept = BatchResult.joined([result.still_pending(pending) for result in outcome.result()])
                if kept.post_ids:
                    write_batch(con, kept)
                    done += len(kept.post_ids)
                    update(done)
        self.outcomes = []
        return done

    def _submit(self, rows: list[tuple[Any, ...]], groups: int | None) -> None:
        all_batches = batches(rows, self.batch_size)
        per_group = 1 if groups is None else -(-len(all_batches) // groups)
        self.outcomes += [
            self.submit(all_batches[i : i + per_group]) for i in range(0, len(all_batches), per_group)
        ]
        self.taken.update((row[0], row[1]) for row in rows)


def enrich_pending(
    con: duckdb.DuckDBPyConnection,
    enricher: Enricher,
    evidence: EvidenceModel,
    batch_size: int = BATCH,
) -> int:
    """Enrich every pending post in this process, a batch at a time; returns how many."""
    enrichment = EnrichmentRun(
        enricher.version, evidence, lambda group: Deferred(group, enricher, evidence), batch_size
    )
    return enrichment.finish(con)
