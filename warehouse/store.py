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


class _NearIndex:
    """The items a new item may be a near-duplicate of: stored ones that share a bucket with the
    delivery, and the delivery's own originals so far. Signatures sit in one matrix, and each band
    key (see ``_band_keys``) maps to its rows, so comparing with many candidates is one array
    operation (a bucket shared by thousands of items, as with boilerplate text, stays cheap)."""

    def __init__(self, capacity: int) -> None:
        self.post_ids: list[str] = []
        self.groups = np.empty(capacity, dtype=np.int8)
        self.created = np.empty(capacity, dtype=np.int64)  # microseconds since the epoch
        self.signatures = np.empty((capacity, NUM_PERM), dtype=np.uint32)
        self.stored: dict[int, np.ndarray] = {}  # band key -> rows of stored items
        self.added: dict[int, list[int]] = {}  # band key -> rows of this delivery's items

    def load(
        self,
        post_ids: list[str],
        articles: np.ndarray,
        created_us: np.ndarray,
        signatures: np.ndarray,
        keys: np.ndarray,
        rows: np.ndarray,
    ) -> None:
        """Stored items (one entry each) and their band keys (``keys[i]`` belongs to ``rows[i]``)."""
        n = len(post_ids)
        self.post_ids = list(post_ids)
        self.groups[:n] = articles
        self.created[:n] = created_us
        self.signatures[:n] = signatures
        order = np.argsort(keys, kind="stable")
        keys, rows = keys[order], rows[order]
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        self.stored = dict(zip(keys[starts].tolist(), np.split(rows, starts[1:]), strict=True))

    def add(
        self, post_id: str, group: str, created: datetime, signature: np.ndarray, keys: list[int]
    ) -> None:
        row = len(self.post_ids)
        self.post_ids.append(post_id)
        self.groups[row] = _GROUPS[group]
        self.created[row] = _microseconds(created)
        self.signatures[row] = signature
        for key in keys:
            self.added.setdefault(key, []).append(row)

    def nearest(self, signature: np.ndarray, keys: list[int], group: str, created: datetime) -> str | None:
        """The most similar candidate in the same group within ``NEAR_WINDOW`` whose estimated
        similarity reaches ``SIMILARITY``; among equally similar ones the oldest is the original."""
        found = [rows for key in keys if (rows := self.stored.get(key)) is not None]
        found += [np.array(rows) for key in keys if (rows := self.added.get(key))]
        if not found:
            return None
        # A row found under several keys is compared more than once, which costs less than
        # np.unique and cannot change the most similar candidate.
        rows = np.concatenate(found) if len(found) > 1 else found[0]
        rows = rows[
            (self.groups[rows] == _GROUPS[group])
            & (np.abs(self.created[rows] - _microseconds(created)) <= _WINDOW_US)
        ]
        if len(rows) == 0:
            return None
        scores = similarity(signature, self.signatures[rows])
        best = scores.max()
        if best < SIMILARITY:
            return None
        return min((int(self.created[r]), self.post_ids[r]) for r in rows[scores == best].tolist())[1]


_GROUPS = {"resident": 0, "article": 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WINDOW_US = NEAR_WINDOW // timedelta(microseconds=1)


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _dedup_group(kind: str) -> str:
    return "article" if kind == "article" else "resident"


def _near_index(con: duckdb.DuckDBPyConnection, prints: dict[str, Fingerprint]) -> _NearIndex:
    """An index of the stored items that share an LSH bucket with any of the new fingerprints,
    with room for the new ones. Read as columns: a delivery can share buckets with many items."""
    if not prints:
        return _NearIndex(0)
    wanted = {
        "band": np.tile(np.arange(BANDS, dtype=np.int16), len(prints)),
        "bucket": np.fromiter(
            (b for fp in prints.values() for b in fp.buckets), dtype=np.uint64, count=BANDS * len(prints)
        ),
    }
    con.register("_wanted_buckets", wanted)
    try:
        # The matching LSH rows, the candidates they point to numbered in post_id order, and then
        # both as columns (the join with the matches gives each key its candidate's number).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _near_matches AS SELECT l.post_id, l.band, l.bucket "
            "FROM (SELECT DISTINCT band, bucket FROM _wanted_buckets) w "
            "JOIN post_lsh l ON l.band = w.band AND l.bucket = w.bucket"
        )
    finally:
        con.unregister("_wanted_buckets")
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _near_rows AS "
            "SELECT m.post_id, m.dedup_group = 'article' AS article, epoch_us(m.created_utc) AS created, "
            "       m.signature, row_number() OVER (ORDER BY m.post_id) - 1 AS row "
            "FROM post_minhash m SEMI JOIN _near_matches x ON x.post_id = m.post_id"
        )
        stored = con.execute(
            "SELECT post_id, article, created, signature FROM _near_rows ORDER BY row"
        ).fetchnumpy()
        keys = con.execute(
            "SELECT r.row, x.band, x.bucket FROM _near_matches x JOIN _near_rows r ON r.post_id = x.post_id"
        ).fetchnumpy()
    finally:
        con.execute("DROP TABLE IF EXISTS _near_matches")
        con.execute("DROP TABLE IF EXISTS _near_rows")
    index = _NearIndex(len(stored["post_id"]) + len(prints))
    if len(stored["post_id"]):
        index.load(
            list(stored["post_id"]),
            np.asarray(stored["article"], dtype=np.int8),
            np.asarray(stored["created"], dtype=np.int64),
            np.frombuffer(b"".join(stored["signature"]), dtype="<u4").reshape(-1, NUM_PERM),
            _band_keys(
                np.asarray(keys["band"], dtype=np.uint64), np.asarray(keys["bucket"], dtype=np.uint64)
            ),
            np.asarray(keys["row"], dtype=np.int64),
        )
    return index


def _shared_keys(prints: dict[str, Fingerprint], index: _NearIndex) -> dict[str, list[int]]:
    """For each new item that can have a near-duplicate at all, the band keys it shares with
    another new item or with a stored one. Items not listed share no bucket with anything, so
    they are neither compared nor kept in the in-memory index (most items, and the per-item cost)."""
    if not prints:
        return {}
    buckets = np.array([fp.buckets for fp in prints.values()], dtype=np.uint64)
    bands = np.broadcast_to(np.arange(BANDS, dtype=np.uint64), buckets.shape)
    keys = _band_keys(bands, buckets)
    _, inverse, counts = np.unique(keys.ravel(), return_inverse=True, return_counts=True)
    shared = (counts[inverse] > 1).reshape(buckets.shape)
    if index.stored:
        shared |= np.isin(keys, np.fromiter(index.stored, dtype=np.uint64, count=len(index.stored)))
    rows, columns = np.nonzero(shared)
    post_ids = list(prints)
    found: dict[str, list[int]] = {}
    for row, key in zip(rows.tolist(), keys[rows, columns].tolist(), strict=True):
        found.setdefault(post_ids[row], []).append(key)
    return found


def _band_keys(bands: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """One number per (band, bucket) pair; a chance collision only costs a comparison, never a link."""
    return buckets + bands * np.uint64(0x9E3779B97F4A7C15)


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

    ensure_near_index(con)
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
    unseen = [p for p in chunk if p.post_id not in existing]
    cleaned = [c for c in (_clean(p) for p in unseen) if c is not None]
    tally.skipped_empty += len(unseen) - len(cleaned)
    hygiene = {post.post_id: (truncated, pii) for post, truncated, pii in cleaned}
    tally.truncated += sum(1 for truncated, _ in hygiene.values() if truncated)
    posts = [c[0] for c in cleaned]
    normalised = {p.post_id: normalise_for_hash(p.full_text) for p in posts}
    hashes = {p.post_id: content_hash(p.full_text, normalised=normalised[p.post_id]) for p in posts}
    known = _known_hashes(con, list(set(hashes.values())))
    thread_municipality = _thread_municipalities(con, {p.thread_id for p in posts if p.thread_id})
    fresh = [p.post_id for p in posts if not p.is_deleted]
    prints = {
        post_id: fp
        for post_id, fp in zip(fresh, fingerprints([normalised[i] for i in fresh]), strict=True)
        if fp is not None
    }
    index = _near_index(con, prints)
    shared = _shared_keys(prints, index)

    rows: list[tuple[object, ...]] = []
    originals: list[tuple[str, str, datetime, Fingerprint]] = []
    seen_ids: set[str] = set()
    for post in posts:
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
            if duplicate_of is not None:
                duplicate_kind = "exact"
        fp = prints.get(post.post_id)
        if fp is not None and duplicate_of is None:
            group = _dedup_group(post.kind)
            keys = shared.get(post.post_id, [])
            duplicate_of = index.nearest(fp.signature, keys, group, post.created_utc) if keys else None
            if duplicate_of is not None:
                duplicate_kind = "near"
            else:
                originals.append((post.post_id, group, post.created_utc, fp))
                if keys:
                    index.add(post.post_id, group, post.created_utc, fp.signature, keys)
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
    write_near_index(con, originals)
    if deleted_now:
        mark_deleted(con, deleted_now)
    return [row[0] for row in rows]


def write_near_index(
    con: duckdb.DuckDBPyConnection, originals: list[tuple[str, str, datetime, Fingerprint]]
) -> None:
    """Signatures and band buckets of new original items (post id, dedup group, created, print),
    as column arrays: one statement per table."""
    if not originals:
        return
    ids = np.array([post_id for post_id, _, _, _ in originals], dtype=object)
    insert_columns(
        con,
        "post_minhash",
        {
            "post_id": ids,
            "dedup_group": np.array([group for _, group, _, _ in originals], dtype=object),
            "created_utc": np.array([created for _, _, created, _ in originals], dtype=object),
            "signature": np.array(
                [fp.signature.astype("<u4").tobytes() for _, _, _, fp in originals], dtype=object
            ),
        },
    )
    insert_columns(
        con,
        "post_lsh",
        {
            "band": np.tile(np.arange(BANDS, dtype=np.int16), len(originals)),
            "bucket": np.fromiter(
                (b for _, _, _, fp in originals for b in fp.buckets),
                dtype=np.uint64,
                count=BANDS * len(originals),
            ),
            "post_id": np.repeat(ids, BANDS),
        },
    )


def ensure_near_index(con: duckdb.DuckDBPyConnection) -> int:
    """Rebuild the near-duplicate index when it was built with another ``SCHEME`` (or never):
    fingerprints of every stored original item that still has its text. Returns how many were
    written; 0 when the index is current. Runs in one transaction, so a killed rebuild reruns."""
    built = con.execute("SELECT scheme FROM near_index ORDER BY built_at DESC LIMIT 1").fetchone()
    if built is not None and built[0] == SCHEME:
        return 0
    written = 0
    with transaction(con):
        con.execute("DELETE FROM post_lsh")
        con.execute("DELETE FROM post_minhash")
        # A chunk of texts at a time (by post_id), as the store stage does: a warehouse's texts
        # need not fit in memory at once.
        after = ""
        while rows := con.execute(
            "SELECT post_id, kind, created_utc, coalesce(title || chr(10), '') || coalesce(text, '') "
            "FROM posts WHERE duplicate_of IS NULL AND NOT is_deleted AND text IS NOT NULL "
            "AND post_id > $after ORDER BY post_id LIMIT $chunk",
            {"after": after, "chunk": CHUNK},
        ).fetchall():
            originals = [
                (post_id, _dedup_group(kind), created, fp)
                for (post_id, kind, created, _), fp in zip(
                    rows, fingerprints([normalise_for_hash(r[3]) for r in rows]), strict=True
                )
                if fp is not None
            ]
            write_near_index(con, originals)
            written += len(originals)
            after = rows[-1][0]
        con.execute("DELETE FROM near_index")
        con.execute("INSERT INTO near_index VALUES (?, ?, ?)", [SCHEME, datetime.now(UTC), written])
    return written


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
