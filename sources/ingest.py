"""The ingest step of every source, pure: a delivery's posts in, the rows of ``posts`` out.

It decides everything the store writes: texts made safe (sanitised) and minimised (personal data
scrubbed), content hashes, MinHash fingerprints, each item's municipality and why, and whether it
copies an earlier item. What it compares with (the items stored already, the originals with the
same hashes, the municipalities of threads, the stored near-duplicate candidates) is read for it
by the warehouse and passed in; it never reads or writes the warehouse itself, so the rows follow
from its arguments alone and it can be tested without one.

It is two calls because what the warehouse must read depends on the first: ``prepare`` cleans,
hashes and fingerprints a chunk's new items; ``decide`` then relates them, given what the warehouse
holds for those hashes, threads and fingerprints.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple, Protocol

from sources.base import Post, content_hash, normalise_for_hash
from sources.dedup import Fingerprints, fingerprints
from sources.relevance import Gazetteer
from sources.sanitise import sanitise
from sources.scrub import scrub

# Shorter texts ("Dit.", "+1") are the same by chance, not copies of each other.
MIN_DUPLICATE_CHARS = 40


class PostRow(NamedTuple):
    """One row of the warehouse's ``posts`` table, in its column order (the store inserts these)."""

    post_id: str
    source: str
    source_key: str
    kind: str
    channel: str
    created_utc: datetime
    title: str | None
    text: str | None
    url: str | None
    parent_id: str | None
    thread_id: str | None
    author_key: str | None
    municipality_id: str | None
    relevance: str
    content_hash: str
    duplicate_of: str | None
    duplicate_kind: str | None
    is_deleted: bool
    first_run_id: int
    stored_at: datetime
    text_truncated: bool
    pii_replaced: int


class Cleaned(NamedTuple):
    """A post as it may be stored, whether its text was cut short, and how many personal data items
    were replaced."""

    post: Post
    truncated: bool
    pii_replaced: int


def clean(post: Post) -> Cleaned | None:
    """Title and text made safe to store (sanitised) and minimised (personal data scrubbed); None
    when nothing visible is left. A deleted item has no text to clean."""
    if post.is_deleted:
        return Cleaned(post, False, 0)
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
        return Cleaned(post, truncated, replaced)  # most items: nothing to change, no copy
    return Cleaned(replace(post, text=body.text, title=title_text), truncated, replaced)


def not_erased(posts: list[Post], erased_ids: Collection[str], erased_authors: Collection[str]) -> list[Post]:
    """The posts less the items erased on request and every item of an erased author: erasure
    sticks, whatever a source delivers again."""
    if not erased_ids and not erased_authors:
        return posts
    return [p for p in posts if p.post_id not in erased_ids and p.author_key not in erased_authors]


def ingest_order(posts: Iterable[Post]) -> list[Post]:
    """Submissions and articles before comments, so comments can inherit their thread's
    municipality; then by time and id, so a delivery is stored in the same order however it came."""
    return sorted(posts, key=lambda p: (p.kind == "comment", p.created_utc, p.post_id))


@dataclass(slots=True)
class Prepared:
    """A chunk's items not stored yet, cleaned, hashed and fingerprinted (see ``prepare``)."""

    posts: list[Post]  # cleaned, in the chunk's order; an item listed twice is here once
    hygiene: dict[str, Cleaned]  # post id -> how it was cleaned
    normalised: dict[str, str]  # post id -> its text as ``normalise_for_hash`` makes it
    hashes: dict[str, str]  # post id -> content hash
    printed: list[Post]  # the posts that have a fingerprint, in the chunk's order: the rows of ``prints``
    prints: Fingerprints
    deleted_now: list[str]  # stored items the source now reports deleted or removed
    skipped_empty: int  # new items with nothing visible left after sanitising

    @property
    def truncated(self) -> int:
        return sum(1 for c in self.hygiene.values() if c.truncated)

    @property
    def thread_ids(self) -> set[str]:
        """The threads whose municipality a comment may inherit."""
        return {p.thread_id for p in self.posts if p.thread_id}


def prepare(chunk: list[Post], stored: Collection[str]) -> Prepared:
    """Clean, hash and fingerprint the items of a chunk that are not ``stored`` yet.

    Most of a nightly delivery is stored already (a feed repeats its items): those are only checked
    for a deletion at the source, not cleaned, hashed or fingerprinted again.
    """
    deleted_now = [p.post_id for p in chunk if p.post_id in stored and p.is_deleted]
    unseen: dict[str, Post] = {}
    for post in chunk:
        if post.post_id not in stored:
            unseen.setdefault(post.post_id, post)  # an item listed twice is stored once
    cleaned = [c for c in map(clean, unseen.values()) if c is not None]
    posts = [c.post for c in cleaned]
    normalised = {p.post_id: normalise_for_hash(p.full_text) for p in posts}
    hashes = {p.post_id: content_hash(p.full_text, normalised=normalised[p.post_id]) for p in posts}
    fresh = [p for p in posts if not p.is_deleted]
    prints = fingerprints([normalised[p.post_id] for p in fresh])
    return Prepared(
        posts=posts,
        hygiene={c.post.post_id: c for c in cleaned},
        normalised=normalised,
        hashes=hashes,
        printed=[fresh[i] for i in prints.texts.tolist()],
        prints=prints,
        deleted_now=deleted_now,
        skipped_empty=len(unseen) - len(cleaned),
    )


class NearDuplicates(Protocol):
    """The near-duplicate search over a chunk's ``Prepared.printed`` rows, loaded with the stored
    candidates (``warehouse.near.NearSearch``). Asked in the chunk's order."""

    def nearest(self, row: int) -> str | None:
        """The post id of the original that ``row`` copies, or None."""
        ...

    def keep(self, row: int) -> None:
        """``row`` is an original: later rows may copy it."""
        ...


@dataclass(slots=True)
class Decided:
    """The rows to insert, and which fingerprinted rows are new originals for the near index."""

    rows: list[PostRow]
    originals: list[int]  # rows of ``Prepared.prints``, in order
    duplicates: int


def decide(
    prepared: Prepared,
    gazetteer: Gazetteer,
    thread_municipalities: Mapping[str, str | None],
    known: Mapping[str, str],
    near: NearDuplicates,
    source_key: str,
    run_id: int,
    stored_at: datetime,
) -> Decided:
    """Each prepared item's municipality and relevance, and the original it copies, as rows.

    ``thread_municipalities``: the stored threads' municipalities (thread id -> id or None), which a
    comment without place names inherits; ``known``: content hash -> the stored original with it.
    An item copies the original with its exact hash first, else the nearest one ``near`` finds;
    only an original is what a later copy links to, so the outcome does not depend on how a
    delivery is chunked. The mappings passed in are not changed.
    """
    inherited_from = dict(thread_municipalities)
    originals_by_hash = dict(known)
    print_row = {p.post_id: row for row, p in enumerate(prepared.printed)}
    rows: list[PostRow] = []
    originals: list[int] = []
    duplicates = 0
    for post in prepared.posts:
        inherited = inherited_from.get(post.thread_id) if post.kind == "comment" and post.thread_id else None
        municipality, reason = gazetteer.resolve(post.full_text, post.channel, inherited)
        if post.kind != "comment":
            inherited_from[post.post_id] = municipality
        digest = prepared.hashes[post.post_id]
        duplicate_of, duplicate_kind = None, None
        long_enough = len(prepared.normalised[post.post_id]) >= MIN_DUPLICATE_CHARS
        if not post.is_deleted and long_enough:
            duplicate_of = originals_by_hash.get(digest)
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
            originals_by_hash[digest] = post.post_id
        if duplicate_of is not None:
            duplicates += 1
        hygiene = prepared.hygiene[post.post_id]
        rows.append(
            PostRow(
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
                stored_at,
                hygiene.truncated,
                hygiene.pii_replaced,
            )
        )
    return Decided(rows, originals, duplicates)
