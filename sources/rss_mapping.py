"""News feed entries as Posts, pure: feed bytes in, Posts out, no client and no network.

Feeds are parsed from bytes with feedparser and each entry is mapped by ``map_entry``, so the
bundled sample feeds and live ones go through the same code.
"""

from __future__ import annotations

import calendar
import hashlib
import html
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser

from sources.base import Post, SourceError, SourceResult

TRACKING_PARAMS = ("utm_", "fbclid", "gclid", "mc_")


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML fragment; block elements become line breaks."""

    BLOCKS = frozenset({"p", "br", "div", "li", "h1", "h2", "h3", "h4", "tr", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment (tags dropped, entities decoded, whitespace tidied)."""
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    text = html.unescape("".join(parser.parts))
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def canonical_link(url: str) -> str:
    """The link without tracking parameters or fragment, for ids and duplicate detection."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.lower().startswith(TRACKING_PARAMS)]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, urlencode(query), ""))


def entry_time(entry: Any) -> datetime | None:
    """An entry's published (else updated) time in UTC; None when it has no usable date."""
    parsed = entry.get("published_parsed")
    if not parsed and "updated" in entry:  # asking for a missing updated_parsed warns in feedparser 6
        parsed = entry.get("updated_parsed")
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC) if parsed else None


def map_entry(
    entry: Any, feed_name: str, fetched_at: datetime, hint: str | None = None
) -> tuple[Post, str | None]:
    """A feed entry as a Post (an article, the outlet's voice) and a warning, if any.

    The id is the entry's own id, else a hash of its canonical link. An entry without a usable
    date gets the fetch time, with a warning, rather than being lost.
    """
    link = canonical_link(entry.get("link", "")) if entry.get("link") else None
    native_id = entry.get("id") or link
    if not native_id:
        native_id = hashlib.sha256((entry.get("title", "") + entry.get("summary", "")).encode()).hexdigest()
    body_html = ""
    if entry.get("content"):
        body_html = entry["content"][0].get("value", "")
    body_html = body_html or entry.get("summary", "")
    created = entry_time(entry)
    warning = None
    if created is None:
        created = fetched_at
        warning = f"{feed_name}: entry {native_id!r} has no valid date; used the fetch time"
    post = Post(
        post_id="rss:" + hashlib.sha256(native_id.encode("utf-8")).hexdigest()[:24],
        source="rss",
        kind="article",
        channel=feed_name,
        created_utc=created,
        title=html_to_text(entry.get("title", "")) or None,
        text=html_to_text(body_html),
        url=link,
        author_key=None,
        municipality_hint=hint,
    )
    return post, warning


def parse_entries(
    content: bytes, feed_name: str, content_type: str | None = None
) -> tuple[list[Any], list[str]]:
    """The entries of feed bytes, and warnings. A ``bozo`` feed that still has entries is kept, with
    a warning; bytes that hold no feed raise ``SourceError``."""
    headers = {"content-type": content_type} if content_type else None
    parsed = feedparser.parse(content, response_headers=headers)
    warnings: list[str] = []
    if not parsed.entries and not parsed.version:
        raise SourceError(f"{feed_name}: not a readable feed (no RSS or Atom found)")
    if parsed.bozo:
        if not parsed.entries:
            raise SourceError(f"{feed_name}: not a readable feed ({parsed.bozo_exception})")
        warnings.append(f"{feed_name}: feed is not well-formed ({parsed.bozo_exception}); kept its entries")
    return list(parsed.entries), warnings


def parse_feed(
    content: bytes,
    feed_name: str,
    fetched_at: datetime,
    hint: str | None = None,
    content_type: str | None = None,
) -> SourceResult:
    """Parse feed bytes into articles (see ``parse_entries`` for what is kept)."""
    entries, warnings = parse_entries(content, feed_name, content_type)
    result = SourceResult(f"rss:{feed_name}", warnings=warnings)
    for entry in entries:
        post, warning = map_entry(entry, feed_name, fetched_at, hint)
        result.posts.append(post)
        if warning:
            result.warnings.append(warning)
    return result
