"""Local news from RSS and Atom feeds: the client. Fetched with httpx (timeout, conditional GET);
what the bytes become is decided by the pure ``sources.rss_mapping``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, TypedDict

import httpx

from sources.base import SourceConfig, SourceError, SourceResult
from sources.rss_mapping import parse_feed

USER_AGENT = "betrokken/0.1 (+https://github.com/betrokken; municipal policy listening)"


class RssState(TypedDict, total=False):
    """What a feed keeps between runs, for a conditional GET (empty before the first run)."""

    etag: str | None
    last_modified: str | None


def conditional_get(
    url: str, name: str, state: RssState, timeout_s: float, user_agent: str = USER_AGENT
) -> httpx.Response:
    """GET a feed with the ETag and Last-Modified of ``state`` (a 304 means: nothing new). A request
    that gets no answer raises ``SourceError``; any answer is returned, whatever its status."""
    headers = {"User-Agent": user_agent}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    try:
        return httpx.get(url, headers=headers, timeout=timeout_s, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise SourceError(f"{name}: request failed: {type(exc).__name__}: {exc}") from None


class RssSource:
    """One configured feed; remembers ETag and Last-Modified for a conditional GET."""

    def __init__(self, municipality_id: str, name: str, url: str, timeout_s: float = 20.0) -> None:
        self.key = f"rss:{municipality_id}:{name}"
        self.municipality_id = municipality_id
        self.name = name
        self.url = url
        self.timeout_s = timeout_s

    def probe(self) -> int:
        """Fetch and parse the feed once, unconditionally; returns the number of entries."""
        return len(self.collect({}).posts)

    def collect(self, state: RssState) -> SourceResult:
        started = time.monotonic()
        response = conditional_get(self.url, self.name, state, self.timeout_s)
        fetched_at = datetime.now(tz=UTC)
        if response.status_code == 304:
            result = SourceResult(self.key, state=dict(state))
        elif response.status_code != 200:
            raise SourceError(f"{self.name}: HTTP {response.status_code} from {self.url}")
        else:
            result = parse_feed(
                response.content,
                self.name,
                fetched_at,
                self.municipality_id,
                response.headers.get("content-type"),
            )
            result.source_key = self.key
            result.state = RssState(
                etag=response.headers.get("etag"), last_modified=response.headers.get("last-modified")
            )
        result.duration_s = time.monotonic() - started
        return result


def configured(feeds: list[dict[str, Any]] | None) -> bool:
    """Whether a municipality lists any feed."""
    return bool(feeds)


def channels(feeds: list[dict[str, Any]] | None) -> tuple[str, ...]:
    """The channels of a municipality's feeds (their names), for the gazetteer."""
    return tuple(f["name"] for f in feeds or ())


def build(config: SourceConfig) -> list[RssSource]:
    """One source per feed of the municipality (``feeds``), with the ``[rss]`` options."""
    timeout_s = config.options["timeout_s"]
    feeds = config.section
    return [RssSource(config.municipality_id, f["name"], f["url"], timeout_s=timeout_s) for f in feeds]
