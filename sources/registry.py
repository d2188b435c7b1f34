"""The live platforms, one entry each: the flow builds every configured source from ``SOURCES``
and names no platform itself.

Adding a platform is one module and one entry here. The module (``sources/<name>.py``, with its
pure mapping apart, as ``sources/reddit_mapping.py``) gives a source class with
``collect(state) -> SourceResult``, the ``TypedDict`` of that state, and three functions of the
municipality's config section: ``configured``, ``channels`` (for the gazetteer) and
``build(SourceConfig)``; a platform that needs credentials adds a function that finds them and the
one line a run notes when they are absent. Its config keys go into ``flows/config.py`` as a
top-level table and a key of ``[[municipalities]]``, named by ``options_key`` and ``section_key``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sources import bluesky, bluesky_mapping, mastodon, mastodon_mapping, reddit, reddit_feeds, rss
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
