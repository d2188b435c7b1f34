"""The store stage: a delivery's rows into ``posts``, as the ingest step decides them.

``sources.ingest`` cleans, hashes, fingerprints and relates the items; this module only reads from
the warehouse what that step compares with, and writes what it returns.

A delivery is written a chunk at a time, each chunk in a transaction of its own, and the source's
new incremental state and run record last, in one more. A killed run leaves the state behind the
rows, never ahead: the rerun collects from the old state, skips the posts already stored and adds
the rest once. (One transaction per delivery kept every uncommitted chunk in memory: ~270 MB at
the peak of a 67,000-post delivery.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from sources.base import Post, SourceResult
from sources.ingest import PostRow, Prepared, decide, ingest_order, not_erased, prepare
from sources.relevance import Gazetteer
from warehouse import faults
from warehouse.db import insert_rows, record_source, transaction
from warehouse.near import NearSearch, dedup_group, ensure_near_index, write_near_index

POST_COLUMNS = PostRow._fields
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
    repeated: int = 0  # listings of an item the delivery had listed already (``fetched`` counts it once)


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


def _erased(con: duckdb.DuckDBPyConnection, posts: list[Post]) -> tuple[set[str], set[str]]:
    """The items of a delivery erased on request, and its authors erased on request."""
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
    return erased_ids, erased_authors


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
    posts = ingest_order(not_erased(result.posts, *_erased(con, result.posts)))
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
        fetched = len({p.post_id for p in result.posts})
        counts = StoreCounts(
            result.source_key,
            "ok",
            fetched,
            tally.new,
            tally.duplicates,
            result.duration_s,
            None,
            tuple(result.warnings),
            tally.skipped_empty,
            tally.truncated,
            len(result.posts) - fetched,
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
        repeated=counts.repeated,
    )


def near_search(con: duckdb.DuckDBPyConnection, prepared: Prepared) -> NearSearch:
    """The near-duplicate search of a prepared chunk's fingerprinted items against the index."""
    printed = prepared.printed
    return NearSearch(
        con,
        [p.post_id for p in printed],
        [dedup_group(p.kind) for p in printed],
        [p.created_utc for p in printed],
        prepared.prints,
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
    """Read what the ingest step compares a chunk with, have it decide the rows, and write them
    (inside the chunk's transaction); returns the ids of the new rows."""
    prepared = prepare(chunk, _existing(con, [p.post_id for p in chunk]))
    tally.skipped_empty += prepared.skipped_empty
    tally.truncated += prepared.truncated
    near = near_search(con, prepared)
    decided = decide(
        prepared,
        gazetteer,
        _thread_municipalities(con, prepared.thread_ids),
        _known_hashes(con, list(set(prepared.hashes.values()))),
        near,
        source_key,
        run_id,
        now,
    )
    tally.new += len(decided.rows)
    tally.duplicates += decided.duplicates
    if decided.rows:
        insert_rows(con, "posts", POST_COLUMNS, decided.rows)
    if decided.originals:
        kept = [prepared.printed[row] for row in decided.originals]
        write_near_index(
            con,
            [p.post_id for p in kept],
            [dedup_group(p.kind) for p in kept],
            [p.created_utc for p in kept],
            prepared.prints.signatures[decided.originals],
            prepared.prints.buckets[decided.originals],
        )
    if prepared.deleted_now:
        mark_deleted(con, prepared.deleted_now)
    return [row.post_id for row in decided.rows]


def mark_deleted(con: duckdb.DuckDBPyConnection, post_ids: list[str]) -> None:
    """An item deleted or removed at the source: keep that it existed, drop its text and author."""
    con.execute(
        "UPDATE posts SET is_deleted = true, text = NULL, title = NULL, author_key = NULL "
        "WHERE post_id IN (SELECT unnest(?))",
        [post_ids],
    )
    con.execute("DELETE FROM post_lsh WHERE post_id IN (SELECT unnest(?))", [post_ids])
    con.execute("DELETE FROM post_minhash WHERE post_id IN (SELECT unnest(?))", [post_ids])
