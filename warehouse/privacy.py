"""Retention and erasure: raw text is purged after the retention period, and everything from one
item or one author can be erased on request (GDPR art. 17).

Both change the live warehouse only; the caller re-publishes the snapshot and the Parquet export
afterwards, so the researchers' copies lose the data too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from warehouse.db import transaction

# Tables keyed by post_id that hold something derived from an item.
DERIVED_TABLES = ("enrichment", "post_topics", "post_signals", "post_minhash", "post_lsh")


@dataclass(frozen=True, slots=True)
class Erased:
    posts: int
    derived_rows: int
    duplicates_released: int


def purge_text(con: duckdb.DuckDBPyConnection, older_than_days: int, now: datetime | None = None) -> int:
    """Remove title and text of items created more than ``older_than_days`` ago; returns how many.

    Enrichment, topics, signals and aggregates stay: they are what the retention period is for.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=older_than_days)
    with transaction(con):
        purged = con.execute(
            "UPDATE posts SET text = NULL, title = NULL, text_purged_at = ? "
            "WHERE created_utc < ? AND (text IS NOT NULL OR title IS NOT NULL)",
            [now, cutoff],
        ).fetchone()[0]
    return int(purged)


def erase_posts(con: duckdb.DuckDBPyConnection, post_ids: list[str], author_key: str | None = None) -> Erased:
    """Delete items and everything derived from them, in one transaction, and remember that they
    (and, with ``author_key``, everything by that author) must not be stored again.

    Copies of an erased item that other people posted are kept, and count again (they no longer
    point to a duplicate that does not exist).
    """
    now = datetime.now(UTC)
    derived = 0
    with transaction(con):
        if author_key is not None:
            con.execute("INSERT OR IGNORE INTO erased_authors VALUES (?, ?)", [author_key, now])
        if not post_ids:
            return Erased(0, 0, 0)
        con.execute(
            "INSERT OR IGNORE INTO erased_items SELECT unnest($ids), $now", {"ids": post_ids, "now": now}
        )
        released = con.execute(
            "UPDATE posts SET duplicate_of = NULL, duplicate_kind = NULL "
            "WHERE duplicate_of IN (SELECT unnest($ids)) AND NOT list_contains($ids, post_id)",
            {"ids": post_ids},
        ).fetchone()[0]
        for table in DERIVED_TABLES:
            derived += con.execute(
                f"DELETE FROM {table} WHERE post_id IN (SELECT unnest(?))", [post_ids]
            ).fetchone()[0]
        posts = con.execute("DELETE FROM posts WHERE post_id IN (SELECT unnest(?))", [post_ids]).fetchone()[0]
    return Erased(int(posts), int(derived), int(released))


def posts_of_author(con: duckdb.DuckDBPyConnection, author_key: str) -> list[str]:
    rows = con.execute("SELECT post_id FROM posts WHERE author_key = ?", [author_key]).fetchall()
    return [r[0] for r in rows]


def items_per_source(con: duckdb.DuckDBPyConnection, with_author: bool = False) -> dict[str, int]:
    """Stored items per source (only those with an author key, with ``with_author``): what an
    erasure request searched, for the message of one that found nothing."""
    rows = con.execute(
        "SELECT source, count(*) FROM posts WHERE NOT $a OR author_key IS NOT NULL "
        "GROUP BY source ORDER BY source",
        {"a": with_author},
    ).fetchall()
    return {source: int(n) for source, n in rows}


def erased_on(
    con: duckdb.DuckDBPyConnection, *, author_key: str | None = None, source_id: str | None = None
) -> datetime | None:
    """When an author, or an item (its id with or without the source prefix), was erased; None if
    never. A request that finds nothing can then say that it was answered before."""
    if author_key is not None:
        row = con.execute(
            "SELECT erased_at FROM erased_authors WHERE author_key = ?", [author_key]
        ).fetchone()
    else:
        row = con.execute(
            "SELECT max(erased_at) FROM erased_items "
            "WHERE post_id = $id OR split_part(post_id, ':', 2) = $id",
            {"id": source_id},
        ).fetchone()
    return row[0] if row else None


def posts_by_id(con: duckdb.DuckDBPyConnection, source_id: str) -> list[str]:
    """The stored item with this id, given with its source prefix (``reddit:t1_abc``) or without."""
    rows = con.execute(
        "SELECT post_id FROM posts WHERE post_id = $id OR split_part(post_id, ':', 2) = $id",
        {"id": source_id},
    ).fetchall()
    return [r[0] for r in rows]
