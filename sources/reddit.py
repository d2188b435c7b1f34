"""Reddit: public submissions and comments through praw (read-only, client credentials).

``map_submission`` and ``map_comment`` are pure: they turn the Reddit API JSON of one item (the
shape praw parses) into a Post. The live collector turns praw objects into that same shape, so the
bundled sample corpus and live data go through one mapping.
"""

from __future__ import annotations

import html
import logging
import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sources.base import Post, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser

log = logging.getLogger(__name__)

REMOVED_MARKERS = frozenset({"[deleted]", "[removed]"})
ENV_CLIENT_ID = "BETROKKEN_REDDIT_CLIENT_ID"
ENV_SECRET = "BETROKKEN_REDDIT_CLIENT_SECRET"
ENV_USER_AGENT = "BETROKKEN_REDDIT_USER_AGENT"
OVERLAP = timedelta(hours=48)  # re-read this window so late comments on recent posts are not missed


def _created(data: Mapping[str, Any]) -> datetime:
    return datetime.fromtimestamp(float(data["created_utc"]), tz=UTC)


def _author(data: Mapping[str, Any]) -> str | None:
    author = data.get("author")
    return None if author is None else str(author)


def map_submission(data: Mapping[str, Any], pseudonymiser: Pseudonymiser, hint: str | None = None) -> Post:
    """A Reddit submission (``t3`` data) as a Post; deleted or removed text is dropped."""
    body = html.unescape(data.get("selftext") or "")
    author = _author(data)
    deleted = body in REMOVED_MARKERS or author in REMOVED_MARKERS
    return Post(
        post_id=f"reddit:{data['name']}",
        source="reddit",
        kind="post",
        channel=f"r/{data['subreddit']}",
        created_utc=_created(data),
        title=html.unescape(data.get("title") or ""),
        text="" if deleted else body,
        url=f"https://www.reddit.com{data['permalink']}" if data.get("permalink") else data.get("url"),
        author_key=None if deleted else pseudonymiser.author_key(author),
        thread_id=f"reddit:{data['name']}",
        municipality_hint=hint,
        is_deleted=deleted,
    )


def map_comment(data: Mapping[str, Any], pseudonymiser: Pseudonymiser, hint: str | None = None) -> Post:
    """A Reddit comment (``t1`` data) as a Post; deleted or removed text is dropped."""
    body = html.unescape(data.get("body") or "")
    author = _author(data)
    deleted = body in REMOVED_MARKERS or author in REMOVED_MARKERS
    return Post(
        post_id=f"reddit:{data['name']}",
        source="reddit",
        kind="comment",
        channel=f"r/{data['subreddit']}",
        created_utc=_created(data),
        text="" if deleted else body,
        url=f"https://www.reddit.com{data['permalink']}" if data.get("permalink") else None,
        parent_id=f"reddit:{data['parent_id']}" if data.get("parent_id") else None,
        thread_id=f"reddit:{data['link_id']}" if data.get("link_id") else None,
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


def credentials_from_env() -> dict[str, str] | None:
    """Reddit app credentials from the environment, or None when they are not all set."""
    values = {
        "client_id": os.environ.get(ENV_CLIENT_ID, ""),
        "client_secret": os.environ.get(ENV_SECRET, ""),
        "user_agent": os.environ.get(ENV_USER_AGENT, ""),
    }
    return values if all(values.values()) else None


def _praw_item(obj: Any, kind: str) -> dict[str, Any]:
    """The fields of a praw object in Reddit API JSON shape (author as a plain string, never logged)."""
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


class RedditSource:
    """Configured subreddits and searches for one municipality, incremental by a watermark."""

    def __init__(
        self,
        municipality_id: str,
        subreddits: list[str],
        search: list[str],
        pseudonymiser: Pseudonymiser,
        credentials: dict[str, str],
        limit: int = 200,
    ) -> None:
        self.key = f"reddit:{municipality_id}"
        self.municipality_id = municipality_id
        self.subreddits = subreddits
        self.search = search
        self.pseudonymiser = pseudonymiser
        self._credentials = credentials
        self.limit = limit

    def __repr__(self) -> str:
        return f"RedditSource({self.key!r}, subreddits={self.subreddits!r})"

    def collect(self, state: dict[str, Any]) -> SourceResult:
        import praw
        import prawcore

        started = time.monotonic()
        result = SourceResult(self.key)
        watermark = float(state.get("watermark", 0.0))
        since = watermark - OVERLAP.total_seconds()
        newest = watermark
        try:
            reddit = praw.Reddit(**self._credentials, check_for_updates=False)
            reddit.read_only = True
            submissions = []
            for name in self.subreddits:
                submissions.extend(reddit.subreddit(name).new(limit=self.limit))
            for query in self.search:
                submissions.extend(reddit.subreddit("all").search(query, sort="new", limit=self.limit))
            seen: set[str] = set()
            for submission in submissions:
                if submission.created_utc < since or submission.name in seen:
                    continue
                seen.add(submission.name)
                newest = max(newest, submission.created_utc)
                hint = self.municipality_id
                result.posts.append(map_submission(_praw_item(submission, "t3"), self.pseudonymiser, hint))
                submission.comments.replace_more(limit=0)
                for comment in submission.comments.list():
                    data = _praw_item(comment, "t1")
                    result.posts.append(map_comment(data, self.pseudonymiser, hint))
        except (prawcore.exceptions.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise SourceError(f"Reddit request failed: {type(exc).__name__}: {exc}") from None
        result.state = {"watermark": newest}
        result.duration_s = time.monotonic() - started
        return result
