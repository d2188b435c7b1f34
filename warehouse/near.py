"""The near-duplicate index in the warehouse, and the search for the original a new item copies.

``post_minhash`` keeps the MinHash signature of every stored original item and ``post_lsh`` its
band buckets (see ``sources.dedup``). A new item is a near-duplicate of the most similar item that
shares a band bucket with it, is in its dedup group, is at most ``NEAR_WINDOW`` older or newer, and
reaches ``SIMILARITY``; among equally similar ones the oldest is the original.

A chunk of a delivery is searched in two passes. The first compares, as array operations, every
new item with all its candidates at once: the stored items that share a bucket with it, and the
earlier items of the chunk in buckets that few items of the chunk share (most buckets). It keeps
only the pairs that reach ``SIMILARITY``: a handful. The second pass goes through the chunk in the
store's order: an item copies its best kept candidate that is an original (stored, or an earlier
item of the chunk found to be one). A bucket that many items of the chunk share (a flood of near
copies, boilerplate) is searched in the second pass among the chunk's originals only, so a flood
costs a comparison per copy and not one per pair of copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np

from sources.base import normalise_for_hash, post_text
from sources.dedup import BANDS, NUM_PERM, SCHEME, SIMILARITY, Fingerprints, fingerprints
from warehouse.db import insert_columns, transaction

# A syndicated copy or a repost appears within days; similar texts months apart are new stories.
NEAR_WINDOW = timedelta(days=31)
# The fewest equal signature values whose share reaches SIMILARITY (the test of ``similarity``).
MIN_EQUAL = next(equal for equal in range(NUM_PERM + 1) if equal / NUM_PERM >= SIMILARITY)
# Items of a chunk in one bucket up to which the first pass compares all their pairs.
CROWDED = 32
# Pairs with stored items expanded at once, and pairs compared at once: they bound the search's
# memory to some tens of MB (pairs within a chunk are at most CROWDED - 1 per item and band).
PAIR_BLOCK = 1_000_000
COMPARE_BLOCK = 32_768

_GROUPS = {"resident": 0, "article": 1}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_WINDOW_US = NEAR_WINDOW // timedelta(microseconds=1)
_KEY_MIX = np.uint64(0x9E3779B97F4A7C15)


def dedup_group(kind: str) -> str:
    """Items are compared within their group only: an article is not a copy of a resident's post."""
    return "article" if kind == "article" else "resident"


def microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def band_keys(bands: np.ndarray, buckets: np.ndarray) -> np.ndarray:
    """One number per (band, bucket) pair; a chance collision only costs a comparison, never a link."""
    return buckets + bands.astype(np.uint64) * _KEY_MIX


@dataclass(frozen=True, slots=True)
class _Stored:
    """Stored originals that share a bucket with a chunk, numbered in post_id order, and for each
    band key (sorted, distinct) the numbers of the items in its bucket:
    ``rows[offsets[i]:offsets[i + 1]]`` for ``keys[i]``."""

    post_ids: list[str]
    groups: np.ndarray
    created: np.ndarray  # microseconds since the epoch
    signatures: np.ndarray
    keys: np.ndarray
    offsets: np.ndarray
    rows: np.ndarray


def _stored_sharing_buckets(con: duckdb.DuckDBPyConnection, buckets: np.ndarray) -> _Stored:
    """The stored originals that share a bucket with any of ``buckets`` (new items x BANDS).
    Read as columns: a chunk can share buckets with many items."""
    con.register(
        "_wanted_buckets",
        {"band": np.tile(np.arange(BANDS, dtype=np.int16), len(buckets)), "bucket": buckets.ravel()},
    )
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
        found = con.execute(
            "SELECT r.row, x.band, x.bucket FROM _near_matches x JOIN _near_rows r ON r.post_id = x.post_id"
        ).fetchnumpy()
    finally:
        con.execute("DROP TABLE IF EXISTS _near_matches")
        con.execute("DROP TABLE IF EXISTS _near_rows")
    keys = band_keys(np.asarray(found["band"]), np.asarray(found["bucket"], dtype=np.uint64))
    order = np.argsort(keys, kind="stable")
    keys, rows = keys[order], np.asarray(found["row"], dtype=np.int64)[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)
    return _Stored(
        list(stored["post_id"]),
        np.asarray(stored["article"], dtype=np.int8),
        np.asarray(stored["created"], dtype=np.int64),
        np.frombuffer(b"".join(stored["signature"]), dtype="<u4").reshape(-1, NUM_PERM),
        keys[starts],
        np.r_[starts, len(keys)],
        rows,
    )


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(first[i], first[i] + count[i])`` over all i."""
    ends = np.cumsum(count)
    return np.repeat(first - ends + count, count) + np.arange(int(ends[-1]) if len(ends) else 0)


def _equal_values(a: np.ndarray, a_rows: np.ndarray, b: np.ndarray, b_rows: np.ndarray) -> np.ndarray:
    """How many signature values ``a[a_rows[i]]`` and ``b[b_rows[i]]`` share, for each pair i."""
    equal = np.empty(len(a_rows), dtype=np.int16)
    for start in range(0, len(a_rows), COMPARE_BLOCK):
        block = slice(start, start + COMPARE_BLOCK)
        equal[block] = np.count_nonzero(a[a_rows[block]] == b[b_rows[block]], axis=1)
    return equal


class NearSearch:
    """The near-duplicate search of one chunk (see the module's docstring). Rows are the chunk's
    fingerprinted items in the store's order; ``nearest(row)`` is asked in that order, and
    ``keep(row)`` is told of each row found to be an original."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        post_ids: list[str],
        groups: list[str],
        created: list[datetime],
        prints: Fingerprints,
    ) -> None:
        n = len(post_ids)
        self.post_ids = post_ids
        self.groups = np.fromiter((_GROUPS[g] for g in groups), dtype=np.int8, count=n)
        self.created = np.fromiter(map(microseconds, created), dtype=np.int64, count=n)
        self.signatures = prints.signatures
        self.original = np.zeros(n, dtype=bool)
        # row -> its kept candidates: (equal values, created, post id, row in the chunk or -1)
        self.kept: dict[int, list[tuple[int, int, str, int]]] = {}
        self.crowded: dict[int, list[int]] = {}  # row -> its keys of crowded buckets
        self.added: dict[int, list[int]] = {}  # key of a crowded bucket -> its originals so far
        if n == 0:
            return
        keys = band_keys(np.arange(BANDS), prints.buckets)
        self._compare_stored(_stored_sharing_buckets(con, prints.buckets), keys)
        self._compare_within(keys)

    def _remember(
        self, rows: np.ndarray, others: np.ndarray, equal: np.ndarray, source: _Stored | None
    ) -> None:
        hits = np.flatnonzero(equal >= MIN_EQUAL)
        post_ids = source.post_ids if source is not None else self.post_ids
        created = source.created if source is not None else self.created
        for row, other, value in zip(
            rows[hits].tolist(), others[hits].tolist(), equal[hits].tolist(), strict=True
        ):
            self.kept.setdefault(row, []).append(
                (value, int(created[other]), post_ids[other], -1 if source is not None else other)
            )

    def _candidates(
        self, rows: np.ndarray, others: np.ndarray, groups: np.ndarray, created: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (new row, candidate) of one dedup group and within the window."""
        ok = (groups[others] == self.groups[rows]) & (
            np.abs(created[others] - self.created[rows]) <= _WINDOW_US
        )
        return rows[ok], others[ok]

    def _compare_stored(self, stored: _Stored, keys: np.ndarray) -> None:
        """Every new item with every stored item in one of its buckets, a block of pairs at a time."""
        if len(stored.keys) == 0:
            return
        at = np.minimum(np.searchsorted(stored.keys, keys), len(stored.keys) - 1)
        rows, bands = np.nonzero(stored.keys[at] == keys)  # row-major: by new item
        first = stored.offsets[at[rows, bands]]
        count = stored.offsets[at[rows, bands] + 1] - first
        ends = np.cumsum(count)
        start = 0
        while start < len(count):
            # entries whose pairs fit in a block; one entry alone may exceed it
            done = ends[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(ends, done + PAIR_BLOCK, side="right")))
            block = slice(start, stop)
            pair_rows = np.repeat(rows[block], count[block])
            others = stored.rows[_ranges(first[block], count[block])]
            pair_rows, others = self._candidates(pair_rows, others, stored.groups, stored.created)
            self._remember(
                pair_rows,
                others,
                _equal_values(self.signatures, pair_rows, stored.signatures, others),
                stored,
            )
            start = stop

    def _compare_within(self, keys: np.ndarray) -> None:
        """Every pair of new items in a bucket that at most CROWDED of them share; the rows of
        more crowded buckets are left to ``nearest``."""
        n = len(keys)
        flat = keys.ravel()
        order = np.argsort(flat, kind="stable")  # within a bucket, rows in the store's order
        flat, rows = flat[order], np.repeat(np.arange(n, dtype=np.int32), BANDS)[order]
        starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
        sizes = np.diff(np.r_[starts, len(flat)])
        size = np.repeat(sizes, sizes)
        for row, key in zip(rows[size > CROWDED].tolist(), flat[size > CROWDED].tolist(), strict=True):
            self.crowded.setdefault(row, []).append(key)
        few = (size > 1) & (size <= CROWDED)
        flat, rows = flat[few], rows[few]
        earlier, later = [], []
        for step in range(1, CROWDED):
            same = np.flatnonzero(flat[:-step] == flat[step:])
            if len(same) == 0:
                break
            earlier.append(rows[same])
            later.append(rows[same + step])
        if not earlier:
            return
        pair_rows, others = self._candidates(
            np.concatenate(later), np.concatenate(earlier), self.groups, self.created
        )
        self._remember(
            pair_rows, others, _equal_values(self.signatures, pair_rows, self.signatures, others), None
        )

    def nearest(self, row: int) -> str | None:
        """The post id of the original that ``row`` copies, or None."""
        # (-equal values, created, post id): the least is the most similar, then the oldest
        candidates = [
            (-equal, created, post_id)
            for equal, created, post_id, other in self.kept.get(row, ())
            if other < 0 or self.original[other]
        ]
        found = [rows for key in self.crowded.get(row, ()) if (rows := self.added.get(key))]
        if found:
            others = np.concatenate(found) if len(found) > 1 else np.asarray(found[0])
            rows, others = self._candidates(np.full(len(others), row), others, self.groups, self.created)
            equal = _equal_values(self.signatures, rows, self.signatures, others)
            hits = equal >= MIN_EQUAL
            candidates += [
                (-value, int(self.created[other]), self.post_ids[other])
                for value, other in zip(equal[hits].tolist(), others[hits].tolist(), strict=True)
            ]
        return min(candidates)[2] if candidates else None

    def keep(self, row: int) -> None:
        """``row`` is an original: later rows may copy it."""
        self.original[row] = True
        for key in self.crowded.get(row, ()):
            self.added.setdefault(key, []).append(row)


def write_near_index(
    con: duckdb.DuckDBPyConnection,
    post_ids: list[str],
    groups: list[str],
    created: list[datetime],
    signatures: np.ndarray,
    buckets: np.ndarray,
) -> None:
    """Signatures and band buckets of new original items, as column arrays: one statement per table."""
    if not post_ids:
        return
    ids = np.array(post_ids, dtype=object)
    insert_columns(
        con,
        "post_minhash",
        {
            "post_id": ids,
            "dedup_group": np.array(groups, dtype=object),
            "created_utc": np.array(created, dtype=object),
            "signature": np.array([s.tobytes() for s in signatures.astype("<u4", copy=False)], dtype=object),
        },
    )
    insert_columns(
        con,
        "post_lsh",
        {
            "band": np.tile(np.arange(BANDS, dtype=np.int16), len(ids)),
            "bucket": buckets.ravel(),
            "post_id": np.repeat(ids, BANDS),
        },
    )


def ensure_near_index(con: duckdb.DuckDBPyConnection, chunk: int) -> int:
    """Rebuild the near-duplicate index when it was built with another ``SCHEME`` (or never):
    fingerprints of every stored original item that still has its text, ``chunk`` items at a time
    (a warehouse's texts need not fit in memory at once). Returns how many were written; 0 when the
    index is current. Runs in one transaction, so a killed rebuild reruns."""
    built = con.execute("SELECT scheme FROM near_index ORDER BY built_at DESC LIMIT 1").fetchone()
    if built is not None and built[0] == SCHEME:
        return 0
    written = 0
    with transaction(con):
        con.execute("DELETE FROM post_lsh")
        con.execute("DELETE FROM post_minhash")
        after = ""
        while rows := con.execute(
            "SELECT post_id, kind, created_utc, title, text "
            "FROM posts WHERE duplicate_of IS NULL AND NOT is_deleted AND text IS NOT NULL "
            "AND post_id > $after ORDER BY post_id LIMIT $chunk",
            {"after": after, "chunk": chunk},
        ).fetchall():
            prints = fingerprints([normalise_for_hash(post_text(title, text)) for *_, title, text in rows])
            printed = [rows[i] for i in prints.texts.tolist()]
            write_near_index(
                con,
                [post_id for post_id, *_ in printed],
                [dedup_group(kind) for _, kind, *_ in printed],
                [created for _, _, created, *_ in printed],
                prints.signatures,
                prints.buckets,
            )
            written += len(printed)
            after = rows[-1][0]
        con.execute("DELETE FROM near_index")
        con.execute("INSERT INTO near_index VALUES (?, ?, ?)", [SCHEME, datetime.now(UTC), written])
    return written
