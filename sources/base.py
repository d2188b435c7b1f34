"""The one shape every source produces, and what a collection returns."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from sources.pseudonym import Pseudonymiser

Kind = Literal["post", "comment", "article"]


# A web address in a message: its user info (``user:password@``) and its query string are where a
# feed's token would sit, and a source's reason is printed, logged and stored.
_URL_SECRETS = re.compile(r"(?P<scheme>https?://)(?:[^/\s@]+@)?(?P<rest>[^\s?#'\"]*)(?:\?[^\s#'\"]*)?")


def without_url_secrets(message: str) -> str:
    """``message`` with every web address cut to its scheme, host and path (a query shows as ``?…``)."""

    def cut(match: re.Match[str]) -> str:
        query = "?…" if "?" in match.group(0) else ""
        return f"{match['scheme']}{match['rest']}{query}"

    return _URL_SECRETS.sub(cut, message)


class SourceError(Exception):
    """A source could not be reached or returned unusable data; the run goes on without it.

    The message never carries a web address's query string or password: see ``without_url_secrets``.
    """

    def __init__(self, message: str) -> None:
        super().__init__(without_url_secrets(message))


@dataclass(frozen=True, slots=True)
class Post:
    """One public item from any source.

    ``author_key`` is already pseudonymised (a keyed hash); no source ever puts a username here.
    ``municipality_hint`` is the municipality whose configuration the item was collected for; the
    relevance filter decides which municipality it really concerns.
    """

    post_id: str
    source: str
    kind: Kind
    channel: str
    created_utc: datetime
    text: str
    title: str | None = None
    url: str | None = None
    parent_id: str | None = None
    thread_id: str | None = None
    author_key: str | None = None
    municipality_hint: str | None = None
    is_deleted: bool = False

    @property
    def full_text(self) -> str:
        return post_text(self.title, self.text)


@dataclass(slots=True)
class SourceResult:
    """What one source delivered in one run: posts, its new incremental state, and warnings."""

    source_key: str
    posts: list[Post] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class Source(Protocol):
    """A configured source: ``collect`` takes the state stored after the previous run."""

    key: str

    def collect(self, state: dict[str, Any]) -> SourceResult: ...


def post_text(title: str | None, text: str | None) -> str:
    """A post's title and body as one text: the unit that NLP, deduplication and labellers see,
    before and after it is stored (the warehouse keeps title and body apart)."""
    if title and text:
        return f"{title}\n{text}"
    return title or text or ""


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """What a platform builds one municipality's sources from, as plain values (the validated
    configuration in JSON types, so ``sources`` needs nothing from the flow's config classes)."""

    municipality_id: str
    section: Any  # the municipality's section for the platform, e.g. its list of feeds
    options: Mapping[str, Any]  # the platform's top-level table, e.g. [reddit]
    pseudonymiser: Pseudonymiser
    credentials: dict[str, str] | None = None  # for a platform that needs them: never None there


_URL = re.compile(r"https?://\S+")
_NOT_WORD = re.compile(r"[^\w\s]+")


def normalise_for_hash(text: str) -> str:
    """Text reduced to what makes two items the same story: case, spacing and links do not count."""
    text = unicodedata.normalize("NFKC", text).casefold()
    if "http" in text:
        text = _URL.sub(" ", text)
    # str.split() splits on exactly the characters that the regex class \s matches
    return " ".join(_NOT_WORD.sub(" ", text).split())


def content_hash(text: str, *, normalised: str | None = None) -> str:
    """Stable hash of the normalised text; equal hashes mean exact duplicates. Pass ``normalised``
    when ``normalise_for_hash(text)`` is at hand already."""
    if normalised is None:
        normalised = normalise_for_hash(text)
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]
