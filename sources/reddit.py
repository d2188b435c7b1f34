"""Reddit: public submissions and comments through praw (read-only, client credentials).

This is the client: credentials, listings, comment trees, retries and watermarks. What an item
becomes is decided by the pure mapping in ``sources.reddit_mapping``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypedDict

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from sources.base import SourceConfig, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser
from sources.reddit_mapping import channel, map_comment, map_submission, praw_data

log = logging.getLogger(__name__)

ENV_CLIENT_ID = "BETROKKEN_REDDIT_CLIENT_ID"
ENV_SECRET = "BETROKKEN_REDDIT_CLIENT_SECRET"
ENV_USER_AGENT = "BETROKKEN_REDDIT_USER_AGENT"
PROBE_LIMIT = 5  # submissions per listing that `betrokken sources check` asks for
OVERLAP = timedelta(hours=48)  # re-read this window so late comments on recent posts are not missed
# The one line a run notes when Reddit is configured but no credentials are found.
CREDENTIALS_ABSENT = (
    f"Reddit skipped: set {ENV_CLIENT_ID}, {ENV_SECRET} and "
    f"{ENV_USER_AGENT} (or [reddit] secret_block) to collect it; see README."
)


def credentials_from_env() -> dict[str, str] | None:
    """Reddit app credentials from the environment, or None when they are not all set."""
    values = {
        "client_id": os.environ.get(ENV_CLIENT_ID, ""),
        "client_secret": os.environ.get(ENV_SECRET, ""),
        "user_agent": os.environ.get(ENV_USER_AGENT, ""),
    }
    return values if all(values.values()) else None


def credentials_from_block(block_name: str) -> dict[str, str] | None:
    """Credentials from a Prefect Secret block holding a JSON object; None when it cannot be read."""
    try:
        from prefect.blocks.system import Secret

        value = Secret.load(block_name).get()
    except Exception:  # no server, no block, wrong type: treated as "no credentials", never echoed
        return None
    if not isinstance(value, dict):
        return None
    values = {k: str(value.get(k, "")) for k in ("client_id", "client_secret", "user_agent")}
    return values if all(values.values()) else None


def find_credentials(options: Mapping[str, Any]) -> dict[str, str] | None:
    """Environment variables first, then the Prefect Secret block named by ``secret_block``."""
    credentials = credentials_from_env()
    if credentials is None and options.get("secret_block"):
        credentials = credentials_from_block(options["secret_block"])
    return credentials


class RedditState(TypedDict, total=False):
    """What a Reddit source keeps between runs: per listing ("sub:Utrecht", "search:gemeente
    Utrecht") the newest ``created_utc`` seen (empty before the first run)."""

    watermarks: dict[str, float]


@dataclass(frozen=True, slots=True)
class RedditCollectOptions:
    """How the source reads Reddit (the config's ``[reddit]`` table turns into this)."""

    limit: int = 100
    comment_depth: int = 4
    more_comments: int = 4
    overlap_s: float = OVERLAP.total_seconds()
    retries: int = 4
    backoff_s: float = 2.0

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> RedditCollectOptions:
        """From the config's ``[reddit]`` table (whose key names are the contract)."""
        return cls(
            limit=table["limit"],
            comment_depth=table["comment_depth"],
            more_comments=table["more_comments"],
            overlap_s=table["overlap_hours"] * 3600,
            retries=table["retries"],
            backoff_s=table["backoff_s"],
        )


class RedditSource:
    """Configured subreddits and searches for one municipality, incremental per listing.

    State: a watermark (newest ``created_utc`` seen) per listing ("sub:Utrecht",
    "search:gemeente Utrecht"). Each run re-reads an overlap window before the watermark, so
    comments that arrive late on recent posts are not missed; stored items are not stored twice.
    """

    def __init__(
        self,
        municipality_id: str,
        subreddits: list[str],
        search: list[str],
        pseudonymiser: Pseudonymiser,
        credentials: dict[str, str],
        options: RedditCollectOptions | None = None,
    ) -> None:
        self.key = f"reddit:{municipality_id}"
        self.municipality_id = municipality_id
        self.subreddits = subreddits
        self.search = search
        self.pseudonymiser = pseudonymiser
        self._credentials = credentials
        self.options = options or RedditCollectOptions()

    def __repr__(self) -> str:
        return f"RedditSource({self.key!r}, subreddits={self.subreddits!r}, search={self.search!r})"

    def _retrying(self) -> Retrying:
        import praw
        import prawcore

        transient = (
            prawcore.exceptions.TooManyRequests,
            prawcore.exceptions.ServerError,
            prawcore.exceptions.RequestException,
            praw.exceptions.RedditAPIException,
        )
        return Retrying(
            stop=stop_after_attempt(self.options.retries),
            wait=wait_exponential(multiplier=self.options.backoff_s, max=120),
            retry=retry_if_exception_type(transient),
            reraise=True,
        )

    def _listing(self, reddit: Any, key: str, limit: int | None = None) -> Iterator[Any]:
        kind, _, name = key.partition(":")
        limit = limit or self.options.limit
        if kind == "sub":
            return reddit.subreddit(name).new(limit=limit)
        return reddit.subreddit("all").search(name, sort="new", time_filter="month", limit=limit)

    def _submissions_since(self, reddit: Any, key: str, since: float) -> list[Any]:
        """Newest first, stopping at the first submission older than ``since``."""
        out = []
        for submission in self._listing(reddit, key):
            if submission.created_utc < since:
                if key.startswith("sub:"):
                    break  # a subreddit's /new is ordered by time
                continue
            out.append(submission)
        return out

    def _thread(self, reddit: Any, submission_id: str) -> list[dict[str, Any]]:
        """The submission and its comments to ``comment_depth``, as Reddit API JSON items."""
        submission = reddit.submission(id=submission_id)
        submission.comments.replace_more(limit=self.options.more_comments)
        items = [("t3", praw_data(submission, "t3"))]
        stack = [(c, 1) for c in reversed(list(submission.comments))]
        while stack:
            comment, depth = stack.pop()
            items.append(("t1", praw_data(comment, "t1")))
            if depth < self.options.comment_depth:
                stack.extend((reply, depth + 1) for reply in reversed(list(comment.replies)))
        return items

    def probe(self) -> int:
        """Reach every listing once (a few submissions, no comments); returns how many came back."""
        import praw
        import prawcore

        try:
            reddit = praw.Reddit(**self._credentials, check_for_updates=False)
            reddit.read_only = True
            keys = [f"sub:{s}" for s in self.subreddits] + [f"search:{q}" for q in self.search]
            listed = (self._retrying()(lambda k=k: list(self._listing(reddit, k, PROBE_LIMIT))) for k in keys)
            return sum(len(items) for items in listed)
        except (prawcore.exceptions.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise SourceError(f"Reddit: {type(exc).__name__} ({exc})") from None

    def collect(self, state: RedditState) -> SourceResult:
        import praw
        import prawcore

        started = time.monotonic()
        result = SourceResult(self.key)
        watermarks: dict[str, float] = dict(state.get("watermarks", {}))
        keys = [f"sub:{s}" for s in self.subreddits] + [f"search:{q}" for q in self.search]
        seen: set[str] = set()
        try:
            reddit = praw.Reddit(**self._credentials, check_for_updates=False)
            reddit.read_only = True
            for key in keys:
                mark = float(watermarks.get(key, 0.0))
                since = mark - self.options.overlap_s if mark else 0.0
                submissions = self._retrying()(self._submissions_since, reddit, key, since)
                for submission in submissions:
                    mark = max(mark, float(submission.created_utc))
                    if submission.id in seen:
                        continue
                    seen.add(submission.id)
                    for kind, data in self._retrying()(self._thread, reddit, submission.id):
                        mapper = map_submission if kind == "t3" else map_comment
                        result.posts.append(mapper(data, self.pseudonymiser, self.municipality_id))
                watermarks[key] = mark
        except (prawcore.exceptions.PrawcoreException, praw.exceptions.PRAWException) as exc:
            raise SourceError(
                f"Reddit: {type(exc).__name__} ({exc}) after {self.options.retries} attempts"
            ) from None
        result.state = RedditState(watermarks=watermarks)
        result.duration_s = time.monotonic() - started
        return result


def configured(section: Mapping[str, Any] | None) -> bool:
    """Whether a municipality reads Reddit through the API (``mode = "api"``, the default) and names
    any subreddit or search term; ``mode = "feeds"`` is the ``reddit_feeds`` platform's."""
    return bool(
        section and section.get("mode", "api") == "api" and (section["subreddits"] or section["search"])
    )


def channels(section: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The channels of a municipality's subreddits, for the gazetteer, in either mode (the
    ``reddit_feeds`` platform names none, so no channel is named twice)."""
    return tuple(channel(s) for s in (section["subreddits"] if section else ()))


def build(config: SourceConfig) -> list[RedditSource]:
    """One source for the municipality's subreddits and searches, with the ``[reddit]`` options."""
    if config.credentials is None:  # the registry skips Reddit, with a note, before it gets here
        return []
    section = config.section
    return [
        RedditSource(
            config.municipality_id,
            section["subreddits"],
            section["search"],
            config.pseudonymiser,
            config.credentials,
            RedditCollectOptions.from_config(config.options),
        )
    ]
