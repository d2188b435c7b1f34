"""Reddit without an API app (``[municipalities.reddit] mode = "feeds"``): the public RSS/Atom feeds.

Since November 2025 a new Reddit API app needs Reddit's approval (the Responsible Builder Policy),
so this mode reads what Reddit publishes as feeds, with no credentials: per subreddit its newest
submissions (``/r/<sub>/new/.rss``) and newest comments (``/r/<sub>/comments/.rss``), and per search
term a site-wide search (``/search.rss?q=<term>&sort=new``), as API mode searches site-wide. A
feed lists only its most recent items (25 to 100): no full threads, no scores, nothing older.

One source per feed, so a feed that fails fails alone. Each run makes one conditional GET per feed
(ETag and Last-Modified, through the RSS client), with a descriptive User-Agent, and waits and
asks again only on 429 or a server error (``Retry-After`` when given, else exponential backoff).
What an entry becomes is decided by the pure ``sources.reddit_feeds_mapping``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict
from urllib.parse import urlencode

from sources.base import SourceConfig, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser
from sources.reddit import ENV_USER_AGENT
from sources.reddit_feeds_mapping import map_feed_entry
from sources.rss import conditional_get
from sources.rss_mapping import parse_entries

# Reddit asks for "<platform>:<app id>:<version> (by /u/<account>)"; BETROKKEN_REDDIT_USER_AGENT,
# when set, is sent instead (the operator's own, naming an account Reddit can contact).
USER_AGENT = (
    "python:betrokken-feeds:0.1 (municipal policy listening; public feeds; +https://github.com/betrokken)"
)
MAX_FEED_LIMIT = 100  # Reddit lists at most this many items in a feed
MAX_RETRY_AFTER_S = 300.0


class RedditFeedState(TypedDict, total=False):
    """What one feed keeps between runs (empty before the first run): the URL it was read from (a
    changed URL starts afresh), its ETag and Last-Modified for the conditional GET, and the newest
    item seen (fullname and ``created_utc``); entries older than that are not delivered again."""

    url: str
    etag: str | None
    last_modified: str | None
    newest_id: str | None
    newest_utc: float | None


@dataclass(frozen=True, slots=True)
class RedditFeedsOptions:
    """How the feeds are read (from the config's ``[reddit]`` table)."""

    base: str = "https://www.reddit.com"
    limit: int = MAX_FEED_LIMIT
    retries: int = 4
    backoff_s: float = 2.0
    timeout_s: float = 20.0

    @classmethod
    def from_config(cls, table: Mapping[str, Any]) -> RedditFeedsOptions:
        return cls(
            base=str(table["feeds_base"]).rstrip("/"),
            limit=min(int(table["limit"]), MAX_FEED_LIMIT),
            retries=table["retries"],
            backoff_s=table["backoff_s"],
        )


def user_agent() -> str:
    return os.environ.get(ENV_USER_AGENT) or USER_AGENT


def feeds_of(subreddits: list[str], search: list[str], options: RedditFeedsOptions) -> list[tuple[str, str]]:
    """(name, URL) of every feed of a municipality: per subreddit its new posts and new comments,
    then per search term the site-wide search, newest first."""
    base, limit = options.base, options.limit
    out = []
    for sub in subreddits:
        out.append((f"r/{sub}/new", f"{base}/r/{sub}/new/.rss?{urlencode({'limit': limit})}"))
        out.append((f"r/{sub}/comments", f"{base}/r/{sub}/comments/.rss?{urlencode({'limit': limit})}"))
    for term in search:
        query = urlencode({"q": term, "sort": "new", "limit": limit})
        out.append((f"search:{term}", f"{base}/search.rss?{query}"))
    return out


def _wait_s(retry_after: str | None, attempt: int, backoff_s: float) -> float:
    if retry_after and retry_after.strip().isdigit():
        return min(float(retry_after), MAX_RETRY_AFTER_S)
    return min(backoff_s * 2**attempt, MAX_RETRY_AFTER_S)


class RedditFeedSource:
    """One public Reddit feed of one municipality (``name`` e.g. "r/Utrecht/new")."""

    def __init__(
        self,
        municipality_id: str,
        name: str,
        url: str,
        pseudonymiser: Pseudonymiser,
        options: RedditFeedsOptions | None = None,
    ) -> None:
        self.key = f"reddit_feeds:{municipality_id}:{name}"
        self.municipality_id = municipality_id
        self.name = name
        self.url = url
        self.pseudonymiser = pseudonymiser
        self.options = options or RedditFeedsOptions()

    def __repr__(self) -> str:
        return f"RedditFeedSource({self.key!r}, {self.url!r})"

    @property
    def label(self) -> str:
        return f"Reddit feed {self.name}"

    def _get(self, state: RedditFeedState) -> Any:
        """The feed's answer; on 429 or a server error waits and asks again, ``retries`` times in all."""
        status = 0
        for attempt in range(self.options.retries):
            response = conditional_get(self.url, self.label, state, self.options.timeout_s, user_agent())
            status = response.status_code
            if status != 429 and status < 500:
                return response
            if attempt + 1 < self.options.retries:
                time.sleep(_wait_s(response.headers.get("retry-after"), attempt, self.options.backoff_s))
        reason = "rate limited by Reddit" if status == 429 else "server error"
        raise SourceError(f"{self.label}: HTTP {status} ({reason}) after {self.options.retries} attempts")

    def probe(self) -> int:
        """Fetch and parse the feed once, unconditionally; returns the number of items."""
        return len(self.collect({}).posts)

    def collect(self, state: RedditFeedState) -> SourceResult:
        started = time.monotonic()
        previous = state if state.get("url") == self.url else RedditFeedState()
        response = self._get(previous)
        fetched_at = datetime.now(tz=UTC)
        if response.status_code == 304:
            result = SourceResult(self.key, state=dict(previous))
        elif response.status_code != 200:
            raise SourceError(f"{self.label}: HTTP {response.status_code} from {self.url}")
        else:
            result = self._parse(response, previous, fetched_at)
        result.duration_s = time.monotonic() - started
        return result

    def _parse(self, response: Any, previous: RedditFeedState, fetched_at: datetime) -> SourceResult:
        entries, warnings = parse_entries(response.content, self.label, response.headers.get("content-type"))
        result = SourceResult(self.key, warnings=warnings)
        seen_utc = previous.get("newest_utc")
        newest_id, newest_utc = previous.get("newest_id"), seen_utc
        posts = [map_feed_entry(e, self.pseudonymiser, fetched_at, self.municipality_id) for e in entries]
        items = [p for p in posts if p is not None]
        if len(items) < len(posts):
            skipped = len(posts) - len(items)
            result.warnings.append(f"{self.label}: {skipped} entries are no Reddit item; skipped")
        # Every listed item is delivered, also one older than the newest seen: a search hit indexed
        # late or a post let through by the moderators appears below it. The store skips what it
        # has, so a rerun adds nothing; the newest seen only tells whether items may have been missed.
        for post in items:
            created = post.created_utc.timestamp()
            if newest_utc is None or created > newest_utc:
                newest_id, newest_utc = post.post_id.removeprefix("reddit:"), created
            result.posts.append(post)
        if seen_utc is not None and items and all(p.created_utc.timestamp() > seen_utc for p in items):
            result.warnings.append(
                f"{self.label}: every item in the feed is newer than the last run's newest; "
                "items in between may be missed (a feed lists only the most recent)"
            )
        result.state = dict(
            RedditFeedState(
                url=self.url,
                etag=response.headers.get("etag"),
                last_modified=response.headers.get("last-modified"),
                newest_id=newest_id,
                newest_utc=newest_utc,
            )
        )
        return result


def configured(section: Mapping[str, Any] | None) -> bool:
    """Whether a municipality reads Reddit through the feeds and names a subreddit or search term."""
    return bool(section and section.get("mode") == "feeds" and (section["subreddits"] or section["search"]))


def channels(section: Mapping[str, Any] | None) -> tuple[str, ...]:
    """None: the ``reddit`` platform names a municipality's subreddits for the gazetteer in either
    mode, so they are not named twice."""
    return ()


def build(config: SourceConfig) -> list[RedditFeedSource]:
    """One source per feed of the municipality, with the ``[reddit]`` options."""
    options = RedditFeedsOptions.from_config(config.options)
    section = config.section
    return [
        RedditFeedSource(config.municipality_id, name, url, config.pseudonymiser, options)
        for name, url in feeds_of(section["subreddits"], section["search"], options)
    ]
