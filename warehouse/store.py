"""The store stage: relevance, exact deduplication and pseudonymous rows into ``posts``.

A delivery is written a chunk at a time, each chunk in a transaction of its own, and the source's
new incremental state and run record last, in one more. A killed run leaves the state behind the
rows, never ahead: the rerun collects from the old state, skips the posts already stored and adds
the rest once. (One transaction per delivery kept every uncommitted chunk in memory: ~270 MB at
the peak of a 67,000-post delivery.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import duckdb

from sources.base import Post, SourceResult, content_hash, normalise_for_hash
from sources.dedup import fingerprints
from sources.relevance import Gazetteer
from sources.sanitise import sanitise
from sources.scrub import scrub
from warehouse import faults
from warehouse.db import insert_rows, record_source, transaction
from warehouse.near import NearSearch, dedup_group, ensure_near_index, write_near_index

POST_COLUMNS = (
    "post_id",
    "source",
    "source_key",
    "kind",
    "channel",
    "created_utc",
    "title",
    "text",
    "url",
    "parent_id",
    "thread_id",
    "author_key",
    "municipality_id",
    "relevance",
    "content_hash",
    "duplicate_of",
    "duplicate_kind",
    "is_deleted",
    "first_run_id",
    "stored_at",
    "text_truncated",
    "pii_replaced",
)
# Shorter texts ("Dit.", "+1") are the same by chance, not copies of each other.
MIN_DUPLICATE_CHARS = 40
# Items of one delivery handled at a time: a delivery of 70,000 items held ~1.6 GB at once, and
# each stored chunk's posts can go to the enrichment while the next is stored (10,000: at 100k
# posts the last chunk's NLP, done after the store, is short; smaller chunks made storing slower).
CHUNK = 10_000


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
    skipped_empty: int = 0
    truncated: int = 0


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


def _clean(post: Post) -> tuple[Post, bool, int] | None:
    """Title and text made safe to store (sanitised) and minimised (personal data scrubbed), with
    whether it was truncated and how many items were replaced; None when nothing visible is left."""
    if post.is_deleted:
        return post, False, 0
    text = sanitise(post.text)
    title = sanitise(post.title) if post.title is not None else None
    if text.empty and (title is None or title.empty):
        return None
    body = scrub(text.text)
    heading = scrub(title.text) if title is not None and not title.empty else None
    replaced = sum(body.counts.values()) + (sum(heading.counts.values()) if heading else 0)
    truncated = text.truncated or (title is not None and title.truncated)
    title_text = heading.text if heading else None
    if body.text == post.text and title_text == post.title:
        return post, truncated, replaced  # most items: nothing to change, no copy
    return replace(post, text=body.text, title=title_text), truncated, replaced


def _not_erased(con: duckdb.DuckDBPyConnection, posts: list[Post]) -> list[Post]:
    """Drop items erased on request, and every item of an erased author: erasure sticks."""
    ids = [p.post_id for p in posts]
    authors = list({p.author_key for p in posts if p.author_key})
    erased_ids = {
        r[0]
        for r in con.execute(
            "SELECT post_id FROM erased_items WHERE list_contains(?, post_id)", [ids]
        ).fetchall()
    }
    erased_authors = {
        r[0]
        for r in con.execute(
            "SELECT author_key FROM erased_authors WHERE list_contains(?, author_key)", [authors]
        ).fetchall()
    }
    if not erased_ids and not erased_authors:
        return posts
    return [p for p in posts if p.post_id not in erased_ids and p.author_key not in erased_authors]


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
    con: duckdb.DuckDBPyConnection,
    result: SourceResult,
    gazetteer: Gazetteer,
    run_id: int,
    on_chunk: Callable[[duckdb.DuckDBPyConnection, list[str]], None] | None = None,
) -> StoreCounts:
    """Store one source's delivery, a chunk per transaction, then its state (or record its failure).

    ``on_chunk(con, post_ids)`` is called after each chunk is committed, with the ids of its new
    rows, so the enrichment can start on them while the next chunk is stored.
    """
    now = datetime.now(UTC)
    if not result.ok:
        counts = StoreCounts(
            result.source_key, "failed", 0, 0, 0, result.duration_s, result.error, tuple(result.warnings)
        )
        with transaction(con):
            _record(con, run_id, counts)
        return counts

    ensure_near_index(con, CHUNK)
    # Submissions and articles before comments, so comments can inherit their thread's municipality.
    posts = sorted(
        _not_erased(con, result.posts), key=lambda p: (p.kind == "comment", p.created_utc, p.post_id)
    )
    tally = _Tally()
    # A later chunk finds the rows of earlier ones in the warehouse, as a later delivery would.
    for start in range(0, len(posts), CHUNK):
        chunk = posts[start : start + CHUNK]
        with transaction(con):
            new = _store_chunk(con, chunk, result.source_key, gazetteer, run_id, now, tally)
        faults.point("store:chunk-committed")
        if on_chunk is not None and new:
            on_chunk(con, new)
    with transaction(con):
        faults.point("store:before-commit")
        con.execute(
            "INSERT OR REPLACE INTO source_state VALUES (?, ?, ?)",
            [result.source_key, json.dumps(result.state), now],
        )
        counts = StoreCounts(
            result.source_key,
            "ok",
            len(result.posts),
            tally.new,
            tally.duplicates,
            result.duration_s,
            None,
            tuple(result.warnings),
            tally.skipped_empty,
            tally.truncated,
        )
        _record(con, run_id, counts)
    return counts


def _record(con: duckdb.DuckDBPyConnection, run_id: int, counts: StoreCounts) -> None:
    """The source's line in ``run_sources``, from its counts."""
    record_source(
        con,
        run_id,
        counts.source_key,
        counts.status,
        counts.fetched,
        counts.new,
        counts.duplicate,
        counts.duration_s,
        counts.reason,
        counts.warnings,
        skipped_empty=counts.skipped_empty,
        truncated=counts.truncated,
    )


@dataclass(slots=True)
class _Tally:
    new: int = 0
    duplicates: int = 0
    skipped_empty: int = 0
    truncated: int = 0


def _store_chunk(
    con: duckdb.DuckDBPyConnection,
    chunk: list[Post],
    source_key: str,
    gazetteer: Gazetteer,
    run_id: int,
    now: datetime,
    tally: _Tally,
) -> list[str]:
    """Clean, relate, deduplicate and insert one chunk of a delivery (inside its transaction);
    returns the ids of the new rows."""
    # Most of a nightly delivery is stored already (a feed repeats its items): those are only
    # checked for a deletion at the source, not cleaned, hashed or fingerprinted again.
    existing = _existing(con, [p.post_id for p in chunk])
    deleted_now = [p.post_id for p in chunk if p.post_id in existing and p.is_deleted]
    unseen: dict[str, Post] = {}
    for post in chunk:
        if post.post_id not in existing:
            unseen.setdefault(post.post_id, post)  # an item listed twice is stored once
    cleaned = [c for c in (_clean(p) for p in unseen.values()) if c is not None]
    tally.skipped_empty += len(unseen) - len(cleaned)
    hygiene = {post.post_id: (truncated, pii) for post, truncated, pii in cleaned}
    tally.truncated += sum(1 for truncated, _ in hygiene.values() if truncated)
    posts = [c[0] for c in cleaned]
    normalised = {p.post_id: normalise_for_hash(p.full_text) for p in posts}
    hashes = {p.post_id: content_hash(p.full_text, normalised=normalised[p.post_id]) for p in posts}
    known = _known_hashes(con, list(set(hashes.values())))
    thread_municipality = _thread_municipalities(con, {p.thread_id for p in posts if p.thread_id})
    fresh = [p for p in posts if not p.is_deleted]
    prints = fingerprints([normalised[p.post_id] for p in fresh])
    printed = [fresh[i] for i in prints.texts.tolist()]  # in the store's order, as the search needs
    print_row = {p.post_id: row for row, p in enumerate(printed)}
    near = NearSearch(
        con,
        [p.post_id for p in printed],
        [dedup_group(p.kind) for p in printed],
        [p.created_utc for p in printed],
        prints,
    )

    rows: list[tuple[object, ...]] = []
    originals: list[int] = []  # rows of ``prints``
    for post in posts:
        inherited = thread_municipality.get(post.thread_id) if post.kind == "comment" else None
        municipality, reason = gazetteer.resolve(post.full_text, post.channel, inherited)
        if post.kind != "comment":
            thread_municipality[post.post_id] = municipality
        digest = hashes[post.post_id]
        duplicate_of, duplicate_kind = None, None
        long_enough = len(normalised[post.post_id]) >= MIN_DUPLICATE_CHARS
        if not post.is_deleted and long_enough:
            duplicate_of = known.get(digest)
            if duplicate_of is not None:
                duplicate_kind = "exact"
        row = print_row.get(post.post_id)
        if row is not None and duplicate_of is None:
            duplicate_of = near.nearest(row)
            if duplicate_of is not None:
                duplicate_kind = "near"
            else:
                near.keep(row)
                originals.append(row)
        if duplicate_of is None and not post.is_deleted and long_enough:
            # Only an original is what a later copy links to, as ``_known_hashes`` finds them in
            # the warehouse: the outcome does not depend on how a delivery is chunked.
            known[digest] = post.post_id
        if duplicate_of is not None:
            tally.duplicates += 1
        rows.append(
            _row(
                post,
                source_key,
                municipality,
                reason,
                digest,
                duplicate_of,
                duplicate_kind,
                run_id,
                now,
                *hygiene[post.post_id],
            )
        )
    tally.new += len(rows)
    if rows:
        insert_rows(con, "posts", POST_COLUMNS, rows)
    if originals:
        kept = [printed[row] for row in originals]
        write_near_index(
            con,
            [p.post_id for p in kept],
            [dedup_group(p.kind) for p in kept],
            [p.created_utc for p in kept],
            prints.signatures[originals],
            prints.buckets[originals],
        )
    if deleted_now:
        mark_deleted(con, deleted_now)
    return [row[0] for row in rows]


def mark_deleted(con: duckdb.DuckDBPyConnection, post_ids: list[str]) -> None:
    """An item deleted or removed at the source: keep that it existed, drop its text and author."""
    con.execute(
        "UPDATE posts SET is_deleted = true, text = NULL, title = NULL, author_key = NULL "
        "WHERE post_id IN (SELECT unnest(?))",
        [post_ids],
    )
    con.execute("DELETE FROM post_lsh WHERE post_id IN (SELECT unnest(?))", [post_ids])
    con.execute("DELETE FROM post_minhash WHERE post_id IN (SELECT unnest(?))", [post_ids])


def _row(
    post: Post,
    source_key: str,
    municipality: str | None,
    reason: str,
    digest: str,
    duplicate_of: str | None,
    duplicate_kind: str | None,
    run_id: int,
    now: datetime,
    truncated: bool,
    pii_replaced: int,
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
        duplicate_kind,
        post.is_deleted,
        run_id,
        now,
        truncated,
        pii_replaced,
    )
