"""The live platforms, one entry each: the flow builds every configured source from ``SOURCES``
and names no platform itself.

Adding a platform is one module and one entry here. The module (``sources/<name>.py``, with its
pure mapping apart, as ``sources/reddit_mapping.py``) gives a source class with
``collect(state) -> SourceResult``, the ``TypedDict`` of that state, and three functions of the
municipality's config section: ``configured``, ``channels`` (for the gazetteer) and
``build(SourceConfig)``; a platform that needs credentials adds a function that finds them and the
one line a run notes when they are absent; a platform whose items have authors adds how a person
writes an account there (``author_name``, ``author_form``), so an erasure request by name can find
them. Its config keys go into ``flows/config.py`` as a top-level table and a key of
``[[municipalities]]``, named by ``options_key`` and ``section_key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sources import (
    bluesky,
    bluesky_mapping,
    mastodon,
    mastodon_mapping,
    reddit,
    reddit_feeds,
    reddit_mapping,
    rss,
)
from sources.base import Source, SourceConfig
from sources.pseudonym import Pseudonymiser


@dataclass(frozen=True, slots=True)
class Platform:
    """How one platform's live sources are made from the configuration."""

    name: str
    options_key: str  # its top-level config table, e.g. "rss" for [rss]
    section_key: str  # its key in a [[municipalities]] entry, e.g. "feeds"
    configured: Callable[[Any], bool]  # does a municipality's section ask for any source?
    channels: Callable[[Any], tuple[str, ...]]  # the section's channels, which the gazetteer knows
    build: Callable[[SourceConfig], list[Any]]  # the municipality's sources
    state: type  # the TypedDict of what each source keeps between runs (``source_state``, as JSON)
    # None: no credentials needed; else finds them from the platform's options, None when absent
    credentials: Callable[[Mapping[str, Any]], dict[str, str] | None] | None = None
    absent_note: str = ""  # the one line a run notes when credentials are needed and absent
    # the stored id of an item given by the platform's own reference (for erasure requests, where
    # the stored id is a keyed hash of it); None when the reference is not this platform's
    stored_id: Callable[[str, Pseudonymiser], str | None] | None = None
    # the name its authors' keys are the hash of, from how a person asking for erasure writes the
    # account (u/name, @user@instance); None when it is not this platform's way of writing one
    author_name: Callable[[str], str | None] | None = None
    author_form: str = ""  # those ways, as a message to that person's privacy officer names them


# In the order a municipality's sources are built.
SOURCES: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("rss", "rss", "feeds", rss.configured, rss.channels, rss.build, rss.RssState),
        Platform(
            "reddit",
            "reddit",
            "reddit",
            reddit.configured,
            reddit.channels,
            reddit.build,
            reddit.RedditState,
            credentials=reddit.find_credentials,
            absent_note=reddit.CREDENTIALS_ABSENT,
            # the same accounts as in mode = "feeds": one entry reads them for both
            author_name=reddit_mapping.author_name,
            author_form="name, u/name or https://www.reddit.com/user/name",
        ),
        # [municipalities.reddit] mode = "feeds": Reddit's public feeds, no credentials (so never
        # skipped for want of them); the "reddit" platform above is mode = "api" only.
        Platform(
            "reddit_feeds",
            "reddit",
            "reddit",
            reddit_feeds.configured,
            reddit_feeds.channels,
            reddit_feeds.build,
            reddit_feeds.RedditFeedState,
        ),
        Platform(
            "bluesky",
            "bluesky",
            "bluesky",
            bluesky.configured,
            bluesky.channels,
            bluesky.build,
            bluesky.BlueskyState,
            credentials=bluesky.find_credentials,
            absent_note=bluesky.CREDENTIALS_ABSENT,
            stored_id=bluesky_mapping.stored_id,
            author_name=bluesky_mapping.author_name,
            author_form="the account's DID (did:plc:...) or https://bsky.app/profile/<DID>, not its handle "
            "(https://bsky.social/xrpc/com.atproto.identity.resolveHandle?handle=HANDLE gives its DID)",
        ),
        # No credentials: public timelines; a token per instance, where one is needed, comes from
        # the environment when the source runs (sources/mastodon.py).
        Platform(
            "mastodon",
            "mastodon",
            "mastodon",
            mastodon.configured,
            mastodon.channels,
            mastodon.build,
            mastodon.MastodonState,
            stored_id=mastodon_mapping.stored_id,
            author_name=mastodon_mapping.author_name,
            author_form="user@instance, @user@instance or https://instance/@user",
        ),
    )
}


def stored_id(reference: str, pseudonymiser: Pseudonymiser) -> str:
    """The id an item is stored under, from what a person asking for its erasure has: a platform's
    own reference (an AT-URI, a Mastodon status address) or the stored id itself."""
    for p in SOURCES.values():
        if p.stored_id is not None and (found := p.stored_id(reference, pseudonymiser)) is not None:
            return found
    return reference.strip()


def author_name(reference: str) -> tuple[str, str] | None:
    """The platform and the name an author's key is the hash of, from how a person asking for
    erasure writes the account; None when no platform writes accounts that way."""
    for p in SOURCES.values():
        if p.author_name is not None and (name := p.author_name(reference)) is not None:
            return p.name, name
    return None


def author_forms() -> str:
    """How an account is written on each platform that has authors, for a message to a person."""
    return "; ".join(f"{p.name}: {p.author_form}" for p in SOURCES.values() if p.author_name is not None)


def channels(municipality: Mapping[str, Any]) -> tuple[str, ...]:
    """Every channel a municipality's configuration names, over all platforms."""
    return tuple(c for p in SOURCES.values() for c in p.channels(municipality.get(p.section_key)))


def build_sources(config: Mapping[str, Any], pseudonymiser: Pseudonymiser, notes: list[str]) -> list[Source]:
    """The live sources of a validated configuration given as plain values (JSON types), per
    municipality and platform in ``SOURCES`` order. A platform whose credentials are needed and
    absent is skipped, with its one line in ``notes``; credentials are only looked for when some
    municipality configures the platform."""
    municipalities = config["municipalities"]
    credentials: dict[str, dict[str, str] | None] = {}
    for p in SOURCES.values():
        if p.credentials is None or not any(p.configured(m.get(p.section_key)) for m in municipalities):
            continue
        credentials[p.name] = p.credentials(config[p.options_key])
        if credentials[p.name] is None:
            notes.append(p.absent_note)
    sources: list[Source] = []
    for m in municipalities:
        for p in SOURCES.values():
            section = m.get(p.section_key)
            if not p.configured(section) or (p.credentials is not None and credentials[p.name] is None):
                continue
            options = config[p.options_key]
            sources.extend(
                p.build(SourceConfig(m["id"], section, options, pseudonymiser, credentials.get(p.name)))
            )
    return sources
