"""News feed entries as Posts, pure: feed bytes in, Posts out, no client and no network.

Feeds are parsed from bytes with feedparser and each entry is mapped by ``map_entry``, so the
bundled sample feeds and live ones go through the same code.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from xml.sax import SAXParseException

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


# What expat says when the bytes end before the document does: the feed was cut off in transit.
_CUT_OFF = ("no element found", "unclosed token", "unclosed CDATA section", "partial character")
_HTML = re.compile(rb"^(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)[\s>]", re.I | re.S)
_BLANK = b"\xef\xbb\xbf \t\r\n"  # a byte-order mark and whitespace: nothing


def _xml_problem(exc: BaseException | None) -> str | None:
    """What is wrong with a feed's XML, in a few words, from feedparser's ``bozo_exception``; None
    when the XML is not what is wrong (no exception, or only a content-type complaint)."""
    if not isinstance(exc, SAXParseException):
        return None
    message = exc.getMessage()
    if message in _CUT_OFF:
        return f"truncated XML at line {exc.getLineNumber()}"
    return f"not well-formed XML at line {exc.getLineNumber()} ({message})"


def not_a_feed(content: bytes, parsed: Any, content_type: str | None = None) -> str | None:
    """Why an answer holds no feed, in a few words ("empty response", "HTML page, not a feed",
    "truncated XML at line N", ...); None when it is a feed, also one with no entries yet.

    The one test of "is this a feed" for every client that reads RSS or Atom (news feeds and
    Reddit's feeds): a 200 from a login wall, a maintenance page or a dropped connection must fail
    its source with a reason, not with whatever feedparser's result lacks.
    """
    if not content.strip(_BLANK):
        return "empty response"
    if parsed.entries:
        return None
    head = content.lstrip(_BLANK)[:2048]
    html_type = (content_type or "").split(";")[0].strip().lower() == "text/html"
    if _HTML.match(head) or (html_type and not parsed.get("version")):
        return "HTML page, not a feed"
    if not head.startswith(b"<"):
        return "no RSS or Atom in the response"  # not XML at all: JSON, plain text
    problem = _xml_problem(parsed.get("bozo_exception"))
    if problem:
        return problem
    return None if parsed.get("version") else "no RSS or Atom in the response"


def parse_entries(
    content: bytes, feed_name: str, content_type: str | None = None
) -> tuple[list[Any], list[str]]:
    """The entries of feed bytes, and warnings. A malformed feed that still has entries is kept,
    with a warning; bytes that hold no feed raise ``SourceError`` saying why (``not_a_feed``)."""
    headers = {"content-type": content_type} if content_type else None
    parsed = feedparser.parse(content, response_headers=headers)
    reason = not_a_feed(content, parsed, content_type)
    if reason:
        raise SourceError(f"{feed_name}: {reason}")
    warnings: list[str] = []
    if parsed.get("bozo") and parsed.entries:
        exc = parsed.get("bozo_exception")
        problem = _xml_problem(exc)
        if problem and problem.startswith("truncated"):
            n = len(parsed.entries)
            kept = f"kept {n} {'entry' if n == 1 else 'entries'} before it"
        else:
            kept = "kept its entries"
        warnings.append(f"{feed_name}: {problem or f'not well-formed ({exc})'}; {kept}")
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
