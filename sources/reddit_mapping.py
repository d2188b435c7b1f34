"""Reddit items as Posts, pure: no client, no network.

``map_submission`` and ``map_comment`` turn the Reddit API JSON of one item (the shape praw parses)
into a Post; ``praw_data`` turns a live praw object into that same shape, so the bundled sample
corpus and live data go through one mapping.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sources.base import Post
from sources.pseudonym import Pseudonymiser

REMOVED_MARKERS = frozenset({"[deleted]", "[removed]"})


def channel(subreddit: str) -> str:
    """The channel a subreddit's items come from, as the gazetteer matches it."""
    return f"r/{subreddit}"


def _created(data: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(data["created_utc"]), tz=UTC)


def item_id(fullname: str) -> str:
    """The stored id of a Reddit item from its fullname (``t3_...``, ``t1_...``): the same whether
    it was read through the API or the public feeds, so switching modes stores nothing twice."""
    return f"reddit:{fullname}"


# An account as people write it: name, u/name, /u/name, or its address .../user/name on reddit.com.
_ACCOUNT = re.compile(
    r"^(?:(?:https?://)?(?:[a-z]+\.)?reddit\.com)?/?(?:u|user)/([\w-]+)/?$|^([\w-]+)$", re.IGNORECASE
)


def author_name(reference: str) -> str | None:
    """The account name an author's key is the hash of (bare, as the API gives it), from how a
    person asking for erasure writes it; None for another platform's account."""
    account = _ACCOUNT.match(reference.strip())
    return (account[1] or account[2]) if account else None


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    return None if author is None else str(author)


def map_submission(data: Mapping[str, Any], pseudonymiser: Pseudonymiser, hint: str | None = None) -> Post:
    """A Reddit submission (``t3`` data) as a Post; deleted or removed text is dropped."""
    body = html.unescape(data.get("selftext") or "")
    author = _author(data)
    deleted = body in REMOVED_MARKERS or author in REMOVED_MARKERS
    return Post(
        post_id=item_id(data["name"]),
        source="reddit",
        kind="post",
        channel=channel(data["subreddit"]),
        created_utc=_created(data),
        title=html.unescape(data.get("title") or ""),
        text="" if deleted else body,
        url=f"https://www.reddit.com{data['permalink']}" if data.get("permalink") else data.get("url"),
        author_key=None if deleted else pseudonymiser.author_key(author),
        thread_id=item_id(data["name"]),
        municipality_hint=hint,
        is_deleted=deleted,
    )


def map_comment(data: Mapping[str, Any], pseudonymiser: Pseudonymiser, hint: str | None = None) -> Post:
    """A Reddit comment (``t1`` data) as a Post; deleted or removed text is dropped."""
    body = html.unescape(data.get("body") or "")
    author = _author(data)
    deleted = body in REMOVED_MARKERS or author in REMOVED_MARKERS
    return Post(
        post_id=item_id(data["name"]),
        source="reddit",
        kind="comment",
        channel=channel(data["subreddit"]),
        created_utc=_created(data),
        text="" if deleted else body,
        url=f"https://www.reddit.com{data['permalink']}" if data.get("permalink") else None,
        parent_id=item_id(data["parent_id"]) if data.get("parent_id") else None,
        thread_id=item_id(data["link_id"]) if data.get("link_id") else None,
        author_key=None if deleted else pseudonymiser.author_key(author),
        municipality_hint=hint,
        is_deleted=deleted,
    )


def iter_thread(thread: list[Mapping[str, Any]]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """(kind, data) for every item of a ``/comments/<id>.json`` response: [submission, comments]."""
    for listing in thread:
        yield from _walk(listing)


def _walk(node: Any) -> Iterator[tuple[str, Mapping[str, Any]]]:
    if not isinstance(node, Mapping):
        return
    kind = node.get("kind")
    data = node.get("data") or {}
    if kind == "Listing":
        for child in data.get("children", []):
            yield from _walk(child)
    elif kind in ("t3", "t1"):
        yield kind, data
        yield from _walk(data.get("replies"))


def praw_data(obj: Any, kind: str) -> dict[str, Any]:
    """The fields of a praw submission (``kind`` "t3") or comment ("t1") in Reddit API JSON shape, so
    live items go through the same mapping as the JSON (author as a plain string, never logged)."""
    author = getattr(obj, "author", None)
    data: dict[str, Any] = {
        "name": obj.name,
        "subreddit": str(obj.subreddit.display_name),
        "author": "[deleted]" if author is None else str(author.name),
        "created_utc": obj.created_utc,
        "permalink": obj.permalink,
    }
    if kind == "t3":
        data.update(title=obj.title, selftext=obj.selftext, url=obj.url)
    else:
        data.update(body=obj.body, parent_id=obj.parent_id, link_id=obj.link_id)
    return data
