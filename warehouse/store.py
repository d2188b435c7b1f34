"""The store stage: relevance, exact deduplication and pseudonymous rows into ``posts``.

A source's posts, its new incremental state and its run record are written in one transaction,
so a killed run never leaves the state ahead of the rows, and a rerun adds each post once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from sources.base import Post, SourceResult, content_hash, normalise_for_hash
from sources.relevance import Gazetteer
from warehouse.db import record_source, transaction

# Shorter texts ("Dit.", "+1") are the same by chance, not copies of each other.
MIN_DUPLICATE_CHARS = 40


@dataclass(frozen=True, slots=True)
class StoreCounts:
    source_key: str
    status: str
    fetched: int
    new: int
    duplicate: int
    duration_s: float
    reason: str | None
    warnings: tuple[str, ...]


def _thread_municipalities(con: duckdb.DuckDBPyConnection, thread_ids: set[str]) -> dict[str, str | None]:
    if not thread_ids:
        return {}
    rows = con.execute(
        "SELECT post_id, municipality_id FROM posts WHERE post_id IN (SELECT unnest(?))", [list(thread_ids)]
    ).fetchall()
    return dict(rows)


def _existing(con: duckdb.DuckDBPyConnection, post_ids: list[str]) -> set[str]:
    if not post_ids:
        return set()
    rows = con.execute("SELECT post_id FROM posts WHERE post_id IN (SELECT unnest(?))", [post_ids]).fetchall()
    return {r[0] for r in rows}


def _known_hashes(con: duckdb.DuckDBPyConnection, hashes: list[str]) -> dict[str, str]:
    if not hashes:
        return {}
    rows = con.execute(
        "SELECT content_hash, min(post_id) FROM posts WHERE duplicate_of IS NULL AND NOT is_deleted "
        "AND content_hash IN (SELECT unnest(?)) GROUP BY content_hash",
        [hashes],
    ).fetchall()
    return dict(rows)


def store_result(
    con: duckdb.DuckDBPyConnection, result: SourceResult, gazetteer: Gazetteer, run_id: int
) -> StoreCounts:
    """Store one source's delivery (or record its failure) in one transaction."""
    now = datetime.now(UTC)
    if not result.ok:
        with transaction(con):
            record_source(
                con,
                run_id,
                result.source_key,
                "failed",
                0,
                0,
                0,
                result.duration_s,
                result.error,
                result.warnings,
            )
        return StoreCounts(
            result.source_key, "failed", 0, 0, 0, result.duration_s, result.error, tuple(result.warnings)
        )

    # Submissions and articles before comments, so comments can inherit their thread's municipality.
    posts = sorted(result.posts, key=lambda p: (p.kind == "comment", p.created_utc, p.post_id))
    existing = _existing(con, [p.post_id for p in posts])
    hashes = {p.post_id: content_hash(p.full_text) for p in posts}
    known = _known_hashes(con, list(set(hashes.values())))
    thread_municipality = _thread_municipalities(con, {p.thread_id for p in posts if p.thread_id})

    rows = []
    seen_ids: set[str] = set()
    duplicates = 0
    for post in posts:
        if post.post_id in existing or post.post_id in seen_ids:
            continue
        seen_ids.add(post.post_id)
        inherited = thread_municipality.get(post.thread_id) if post.kind == "comment" else None
        municipality, reason = gazetteer.resolve(post.full_text, post.channel, inherited)
        if post.kind != "comment":
            thread_municipality[post.post_id] = municipality
        digest = hashes[post.post_id]
        duplicate_of = None
        long_enough = len(normalise_for_hash(post.full_text)) >= MIN_DUPLICATE_CHARS
        if not post.is_deleted and long_enough:
            duplicate_of = known.get(digest)
            if duplicate_of is None:
                known[digest] = post.post_id
            else:
                duplicates += 1
        rows.append(_row(post, result.source_key, municipality, reason, digest, duplicate_of, run_id, now))

    with transaction(con):
        if rows:
            con.executemany(
                "INSERT INTO posts (post_id, source, source_key, kind, channel, created_utc, title, "
                "text, url, parent_id, thread_id, author_key, municipality_id, relevance, content_hash, "
                "duplicate_of, is_deleted, first_run_id, stored_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        con.execute(
            "INSERT OR REPLACE INTO source_state VALUES (?, ?, ?)",
            [result.source_key, json.dumps(result.state), now],
        )
        record_source(
            con,
            run_id,
            result.source_key,
            "ok",
            len(result.posts),
            len(rows),
            duplicates,
            result.duration_s,
            None,
            result.warnings,
        )
    return StoreCounts(
        result.source_key,
        "ok",
        len(result.posts),
        len(rows),
        duplicates,
        result.duration_s,
        None,
        tuple(result.warnings),
    )


def _row(
    post: Post,
    source_key: str,
    municipality: str | None,
    reason: str,
    digest: str,
    duplicate_of: str | None,
    run_id: int,
    now: datetime,
) -> tuple[object, ...]:
    return (
        post.post_id,
        post.source,
        source_key,
        post.kind,
        post.channel,
        post.created_utc,
        post.title,
        None if post.is_deleted else post.text,
        post.url,
        post.parent_id,
        post.thread_id,
        post.author_key,
        municipality,
        reason,
        digest,
        duplicate_of,
        post.is_deleted,
        run_id,
        now,
    )
