"""The store stage: relevance, exact deduplication and pseudonymous rows into ``posts``.

A source's posts, its new incremental state and its run record are written in one transaction,
so a killed run never leaves the state ahead of the rows, and a rerun adds each post once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np

from sources.base import Post, SourceResult, content_hash, normalise_for_hash
from sources.dedup import BANDS, NUM_PERM, SCHEME, SIMILARITY, Fingerprint, fingerprints, similarity
from sources.relevance import Gazetteer
from sources.sanitise import sanitise
from sources.scrub import scrub
from warehouse import faults
from warehouse.db import insert_columns, insert_rows, record_source, transaction

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
# A syndicated copy or a repost appears within days; similar texts months apart are new stories.
NEAR_WINDOW = timedelta(days=31)


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
    return replace(post, text=body.text, title=heading.text if heading else None), truncated, replaced


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


def _near_candidates(
    con: duckdb.DuckDBPyConnection, prints: dict[str, Fingerprint]
) -> dict[tuple[int, int], list[_Indexed]]:
    """Stored items that share an LSH bucket with any of the new fingerprints."""
    index: dict[tuple[int, int], list[_Indexed]] = {}
    if not prints:
        return index
    wanted = {
        "band": np.tile(np.arange(BANDS, dtype=np.int16), len(prints)),
        "bucket": np.fromiter(
            (b for fp in prints.values() for b in fp.buckets), dtype=np.uint64, count=BANDS * len(prints)
        ),
    }
    con.register("_wanted_buckets", wanted)
    try:
        rows = con.execute(
            "SELECT l.band, l.bucket, m.post_id, m.dedup_group, m.created_utc, m.signature "
            "FROM (SELECT DISTINCT band, bucket FROM _wanted_buckets) w "
            "JOIN post_lsh l ON l.band = w.band AND l.bucket = w.bucket "
            "JOIN post_minhash m ON m.post_id = l.post_id"
        ).fetchall()
    finally:
        con.unregister("_wanted_buckets")
    items: dict[str, _Indexed] = {}
    for band, bucket, post_id, group, created, signature in rows:
        item = items.get(post_id)
        if item is None:
            item = items[post_id] = _Indexed(post_id, group, created, _signature(signature))
        index.setdefault((band, bucket), []).append(item)
    return index


def _signature(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<u4", count=NUM_PERM)


@dataclass(frozen=True, slots=True)
class _Indexed:
    post_id: str
    group: str
    created_utc: datetime
    signature: np.ndarray


def _dedup_group(kind: str) -> str:
    return "article" if kind == "article" else "resident"


def _shared_bands(
    prints: dict[str, Fingerprint], index: dict[tuple[int, int], list[_Indexed]]
) -> dict[str, list[int]]:
    """For each new item that can have a near-duplicate at all, the bands whose bucket it shares
    with another new item or with a stored one. Items not listed share no bucket with anything, so
    they are neither compared nor kept in the in-memory index (most items, and the per-item cost)."""
    if not prints:
        return {}
    buckets = np.array([fp.buckets for fp in prints.values()], dtype=np.uint64)
    bands = np.broadcast_to(np.arange(BANDS, dtype=np.uint64), buckets.shape)
    keys = _band_keys(bands, buckets)
    _, inverse, counts = np.unique(keys.ravel(), return_inverse=True, return_counts=True)
    shared = (counts[inverse] > 1).reshape(buckets.shape)
    if index:
        stored = np.array(list(index), dtype=np.uint64)
        shared |= np.isin(keys, _band_keys(stored[:, 0], stored[:, 1]))
    rows, columns = np.nonzero(shared)
    post_ids = list(prints)
    found: dict[str, list[int]] = {}
    for row, band in zip(rows.tolist(), columns.tolist(), strict=True):
        found.setdefault(post_ids[row], []).append(band)
    return found


def _band_keys(bands: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """One number per (band, bucket) pair; a chance collision only costs a comparison, never a link."""
    return buckets + bands * np.uint64(0x9E3779B97F4A7C15)


def _nearest(
    index: dict[tuple[int, int], list[_Indexed]],
    fp: Fingerprint,
    bands: list[int],
    group: str,
    created: datetime,
) -> str | None:
    candidates: dict[str, _Indexed] = {}
    for band in bands:
        for item in index.get((band, fp.buckets[band]), ()):
            if item.group == group and abs(item.created_utc - created) <= NEAR_WINDOW:
                candidates[item.post_id] = item
    if not candidates:
        return None
    # among equally similar items, the oldest is the original
    items = sorted(candidates.values(), key=lambda item: (item.created_utc, item.post_id))
    scores = similarity(fp.signature, np.stack([item.signature for item in items]))
    best = int(np.argmax(scores))
    return items[best].post_id if scores[best] >= SIMILARITY else None


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

    ensure_near_index(con)
    # Submissions and articles before comments, so comments can inherit their thread's municipality.
    kept = _not_erased(con, result.posts)
    cleaned = [c for c in (_clean(p) for p in kept) if c is not None]
    skipped_empty = len(kept) - len(cleaned)
    hygiene = {post.post_id: (truncated, pii) for post, truncated, pii in cleaned}
    posts = sorted((c[0] for c in cleaned), key=lambda p: (p.kind == "comment", p.created_utc, p.post_id))
    existing = _existing(con, [p.post_id for p in posts])
    normalised = {p.post_id: normalise_for_hash(p.full_text) for p in posts}
    hashes = {p.post_id: content_hash(p.full_text, normalised=normalised[p.post_id]) for p in posts}
    known = _known_hashes(con, list(set(hashes.values())))
    thread_municipality = _thread_municipalities(con, {p.thread_id for p in posts if p.thread_id})
    fresh = [p.post_id for p in posts if p.post_id not in existing and not p.is_deleted]
    prints = {
        post_id: fp
        for post_id, fp in zip(fresh, fingerprints([normalised[i] for i in fresh]), strict=True)
        if fp is not None
    }
    index = _near_candidates(con, prints)
    shared = _shared_bands(prints, index)

    rows: list[tuple[object, ...]] = []
    indexed: list[tuple[_Indexed, Fingerprint]] = []
    deleted_now: list[str] = []
    seen_ids: set[str] = set()
    duplicates = 0
    for post in posts:
        if post.post_id in existing:
            if post.is_deleted:
                deleted_now.append(post.post_id)
            continue
        if post.post_id in seen_ids:
            continue
        seen_ids.add(post.post_id)
        inherited = thread_municipality.get(post.thread_id) if post.kind == "comment" else None
        municipality, reason = gazetteer.resolve(post.full_text, post.channel, inherited)
        if post.kind != "comment":
            thread_municipality[post.post_id] = municipality
        digest = hashes[post.post_id]
        duplicate_of, duplicate_kind = None, None
        long_enough = len(normalised[post.post_id]) >= MIN_DUPLICATE_CHARS
        if not post.is_deleted and long_enough:
            duplicate_of = known.get(digest)
            if duplicate_of is None:
                known[digest] = post.post_id
            else:
                duplicate_kind = "exact"
        fp = prints.get(post.post_id)
        if fp is not None and duplicate_of is None:
            group = _dedup_group(post.kind)
            bands = shared.get(post.post_id, [])
            duplicate_of = _nearest(index, fp, bands, group, post.created_utc) if bands else None
            if duplicate_of is not None:
                duplicate_kind = "near"
            else:
                item = _Indexed(post.post_id, group, post.created_utc, fp.signature)
                indexed.append((item, fp))
                for band in bands:
                    index.setdefault((band, fp.buckets[band]), []).append(item)
        if duplicate_of is not None:
            duplicates += 1
        rows.append(
            _row(
                post,
                result.source_key,
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

    with transaction(con):
        if rows:
            insert_rows(con, "posts", POST_COLUMNS, rows)
        write_near_index(con, indexed)
        if deleted_now:
            mark_deleted(con, deleted_now)
        faults.point("store:before-commit")
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
            skipped_empty=skipped_empty,
            truncated=sum(1 for t, _ in hygiene.values() if t),
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
        skipped_empty,
        sum(1 for t, _ in hygiene.values() if t),
    )


def write_near_index(con: duckdb.DuckDBPyConnection, indexed: list[tuple[_Indexed, Fingerprint]]) -> None:
    """Signatures and band buckets of new original items, as column arrays (one statement each)."""
    if not indexed:
        return
    n = len(indexed)
    insert_columns(
        con,
        "post_minhash",
        {
            "post_id": np.array([item.post_id for item, _ in indexed], dtype=object),
            "dedup_group": np.array([item.group for item, _ in indexed], dtype=object),
            "created_utc": np.array([item.created_utc for item, _ in indexed], dtype=object),
            "signature": np.array([fp.signature.astype("<u4").tobytes() for _, fp in indexed], dtype=object),
        },
    )
    insert_columns(
        con,
        "post_lsh",
        {
            "band": np.tile(np.arange(BANDS, dtype=np.int16), n),
            "bucket": np.fromiter(
                (b for _, fp in indexed for b in fp.buckets), dtype=np.uint64, count=BANDS * n
            ),
            "post_id": np.repeat(np.array([item.post_id for item, _ in indexed], dtype=object), BANDS),
        },
    )


def ensure_near_index(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the near-duplicate index when it was built with another ``SCHEME`` (or never):
    fingerprints of every stored original item that still has its text. Returns how many were
    written; 0 when the index is current. Runs in one transaction, so a killed rebuild reruns."""
    built = con.execute("SELECT scheme FROM near_index ORDER BY built_at DESC LIMIT 1").fetchone()
    if built is not None and built[0] == SCHEME:
        return 0
    rows = con.execute(
        "SELECT post_id, kind, created_utc, coalesce(title || chr(10), '') || coalesce(text, '') "
        "FROM posts WHERE duplicate_of IS NULL AND NOT is_deleted AND text IS NOT NULL ORDER BY post_id"
    ).fetchall()
    indexed = []
    for (post_id, kind, created, _), fp in zip(
        rows, fingerprints([normalise_for_hash(r[3]) for r in rows]), strict=True
    ):
        if fp is not None:
            indexed.append((_Indexed(post_id, _dedup_group(kind), created, fp.signature), fp))
    with transaction(con):
        con.execute("DELETE FROM post_lsh")
        con.execute("DELETE FROM post_minhash")
        write_near_index(con, indexed)
        con.execute("DELETE FROM near_index")
        con.execute("INSERT INTO near_index VALUES (?, ?, ?)", [SCHEME, datetime.now(UTC), len(indexed)])
    return len(indexed)


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
