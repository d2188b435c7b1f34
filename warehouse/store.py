"""The store stage: relevance, exact deduplication and pseudonymous rows into ``posts``.

A source's posts, its new incremental state and its run record are written in one transaction,
so a killed run never leaves the state ahead of the rows, and a rerun adds each post once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

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


@dataclass(frozen=True, slots=True)
class _Match:
    """A candidate whose estimated similarity with a new item reaches ``SIMILARITY``: a stored item,
    or (``position`` not None) an earlier new item of the chunk, which counts only if it turned
    out an original itself."""

    score: float
    created: int  # microseconds since the epoch
    post_id: str
    position: int | None


_GROUPS = {"resident": 0, "article": 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WINDOW_US = NEAR_WINDOW // timedelta(microseconds=1)
_PAIR_BLOCK = 32_768  # candidate pairs compared at once: two (pairs x NUM_PERM) uint32 blocks


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _dedup_group(kind: str) -> str:
    return "article" if kind == "article" else "resident"


def _near_matches(
    con: duckdb.DuckDBPyConnection, prints: dict[str, Fingerprint], items: dict[str, tuple[str, datetime]]
) -> dict[int, list[_Match]]:
    """For each new item (by position in ``prints``, which is the order they are stored in), the
    candidates similar enough to be its original: stored items and earlier new items that share an
    LSH bucket with it, in the same dedup group (``items``: post id -> (group, created)) and within
    ``NEAR_WINDOW``.

    All candidate pairs of a chunk are compared at once, as arrays: most items share a bucket with
    something by chance (a band of three values of a common phrase), and almost none of those pairs
    is similar, so the choice among the few that are is left to the caller, in storing order.
    """
    if not prints:
        return {}
    ids = list(prints)
    m = len(ids)
    new_groups = np.array([_GROUPS[items[i][0]] for i in ids], dtype=np.int8)
    new_created = np.array([_microseconds(items[i][1]) for i in ids], dtype=np.int64)
    new_signatures = np.array([fp.signature for fp in prints.values()], dtype=np.uint32)
    buckets = np.array([fp.buckets for fp in prints.values()], dtype=np.uint64)
    keys = _band_keys(np.broadcast_to(np.arange(BANDS, dtype=np.uint64), buckets.shape), buckets)
    stored = _stored_candidates(con, buckets)
    n_stored = len(stored["post_id"])

    # (item, key) entries sorted by key; a stored key's rows are found by binary search.
    item_of = np.repeat(np.arange(m), BANDS)
    flat = keys.ravel()
    order = np.lexsort((item_of, flat))
    item_of, flat = item_of[order], flat[order]
    firsts, sources = [], []
    if n_stored:
        stored_keys, stored_rows = stored["keys"], stored["rows"]
        at = np.searchsorted(stored_keys, flat)
        found = at < len(stored_keys)
        found[found] = stored_keys[at[found]] == flat[found]
        lo = np.searchsorted(stored_keys, flat[found], side="left")
        hi = np.searchsorted(stored_keys, flat[found], side="right")
        owner, picked = _expand(lo, hi - lo)
        firsts.append(item_of[found][owner])
        sources.append(stored_rows[picked])
    # Pairs of new items under one key: each entry with every earlier entry of its key.
    group_start = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    starts = np.repeat(group_start, np.diff(np.r_[group_start, len(flat)]))
    owner, picked = _expand(starts, np.arange(len(flat)) - starts)
    firsts.append(item_of[owner])
    sources.append(n_stored + item_of[picked])  # new item j is candidate number n_stored + j

    # A pair found under several keys is compared more than once, which costs less than removing
    # the repeats (np.unique) and cannot change which candidate is chosen.
    first = np.concatenate(firsts)
    candidate = np.concatenate(sources)
    groups = np.concatenate([stored["groups"], new_groups])
    created = np.concatenate([stored["created"], new_created])
    keep = (groups[candidate] == new_groups[first]) & (
        np.abs(created[candidate] - new_created[first]) <= _WINDOW_US
    )
    first, candidate = first[keep], candidate[keep]
    signatures = np.concatenate([stored["signatures"], new_signatures])
    matches: dict[int, list[_Match]] = {}
    for lo in range(0, len(first), _PAIR_BLOCK):
        a, b = first[lo : lo + _PAIR_BLOCK], candidate[lo : lo + _PAIR_BLOCK]
        scores = similarity(new_signatures[a], signatures[b])
        close = np.flatnonzero(scores >= SIMILARITY)
        for item, other, score in zip(
            a[close].tolist(), b[close].tolist(), scores[close].tolist(), strict=True
        ):
            position = other - n_stored if other >= n_stored else None
            post_id = ids[position] if position is not None else stored["post_id"][other]
            matches.setdefault(item, []).append(_Match(score, int(created[other]), post_id, position))
    return matches


def _nearest(matches: Iterable[_Match], original: np.ndarray) -> str | None:
    """The original a new item is a near-duplicate of: the most similar of its matches that is a
    stored item or an earlier new item stored as an original; among equally similar ones the
    oldest (then the smallest id). None when there is none."""
    valid = [m for m in matches if m.position is None or original[m.position]]
    if not valid:
        return None
    best = max(m.score for m in valid)
    return min((m.created, m.post_id) for m in valid if m.score == best)[1]


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``[starts[i], starts[i] + counts[i])``: the range number and the value of every
    element of all ranges, in order (np.repeat and np.arange without a Python loop)."""
    counts = np.asarray(counts, dtype=np.int64)
    owner = np.repeat(np.arange(len(counts)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return owner, np.asarray(starts, dtype=np.int64)[owner] + offsets


def _stored_candidates(con: duckdb.DuckDBPyConnection, buckets: np.ndarray) -> dict[str, Any]:
    """The stored items that share an LSH bucket with any of the new (items x BANDS) ``buckets``:
    their ids, groups, creation times and signatures by row, and every band key they are under
    (``keys``, sorted, with the row each belongs to in ``rows``). Read as columns: a delivery can
    share buckets with many items."""
    wanted = {
        "band": np.tile(np.arange(BANDS, dtype=np.int16), len(buckets)),
        "bucket": buckets.ravel(),
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
        rows = con.execute(
            "SELECT post_id, article, created, signature FROM _near_rows ORDER BY row"
        ).fetchnumpy()
        keys = con.execute(
            "SELECT r.row, x.band, x.bucket FROM _near_matches x JOIN _near_rows r ON r.post_id = x.post_id"
        ).fetchnumpy()
    finally:
        con.execute("DROP TABLE IF EXISTS _near_matches")
        con.execute("DROP TABLE IF EXISTS _near_rows")
    band_keys = _band_keys(
        np.asarray(keys["band"], dtype=np.uint64), np.asarray(keys["bucket"], dtype=np.uint64)
    )
    order = np.argsort(band_keys, kind="stable")
    return {
        "post_id": list(rows["post_id"]),
        "groups": np.asarray(rows["article"], dtype=np.int8),
        "created": np.asarray(rows["created"], dtype=np.int64),
        "signatures": np.frombuffer(b"".join(rows["signature"]), dtype="<u4").reshape(-1, NUM_PERM),
        "keys": band_keys[order],
        "rows": np.asarray(keys["row"], dtype=np.int64)[order],
    }


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
    """Store one source's delivery (or record its failure) in one transaction.

    ``on_chunk(con, post_ids)`` is called inside the transaction after each chunk is inserted, with
    the ids of its new rows, so the enrichment can start on them while the next chunk is stored.
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
    with transaction(con):
        # A chunk at a time bounds memory; a later chunk finds the rows of earlier ones in the
        # warehouse (a transaction sees its own writes), as a later delivery would.
        for start in range(0, len(posts), CHUNK):
            chunk = posts[start : start + CHUNK]
            new = _store_chunk(con, chunk, result.source_key, gazetteer, run_id, now, tally)
            if on_chunk is not None and new:
                on_chunk(con, new)
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
    by_id = {p.post_id: p for p in posts}
    matches = _near_matches(
        con, prints, {i: (_dedup_group(by_id[i].kind), by_id[i].created_utc) for i in prints}
    )
    position = {post_id: i for i, post_id in enumerate(prints)}
    original = np.zeros(len(prints), dtype=bool)  # by position: stored as an original (so far)

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
            here = position[post.post_id]
            duplicate_of = _nearest(matches.get(here, ()), original)
            if duplicate_of is not None:
                duplicate_kind = "near"
            else:
                original[here] = True
                originals.append((post.post_id, _dedup_group(post.kind), post.created_utc, fp))
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
