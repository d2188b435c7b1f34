"""The bundled demo corpus, written by this project: Reddit threads in the JSON shape of the Reddit
API (the shape praw parses), Bluesky post views as ``app.bsky.feed.searchPosts`` returns them,
Mastodon statuses as a hashtag timeline returns them, and three local news feeds. Read through the
same mapping functions as live data, so the demo exercises the real code path without network or
accounts."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from common.yamlfile import parse_yaml
from sources.base import SourceResult
from sources.bluesky_mapping import map_post
from sources.mastodon_mapping import channel, map_status, original
from sources.pseudonym import Pseudonymiser
from sources.reddit_mapping import iter_thread, map_comment, map_submission
from sources.rss_mapping import parse_feed

SAMPLE_DIR = Path(str(resources.files("sources.sample")))
FEED_NAMES = {
    "domstad-nieuws.rss": "Domstad Nieuws",
    "betuwe-bode.rss": "Betuwe Bode",
    "regio-gelderland-utrecht.atom": "Regio Midden Nieuws",
}


class SampleReddit:
    """The bundled Reddit threads as one source."""

    key = "sample:reddit"

    def __init__(self, pseudonymiser: Pseudonymiser, path: Path | None = None) -> None:
        self.pseudonymiser = pseudonymiser
        self.path = path or SAMPLE_DIR / "reddit.json"

    def collect(self, state: dict[str, Any]) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(self.key)
        threads = json.loads(self.path.read_text(encoding="utf-8"))
        for thread in threads:
            for kind, data in iter_thread(thread):
                mapper = map_submission if kind == "t3" else map_comment
                result.posts.append(mapper(data, self.pseudonymiser))
        result.duration_s = time.monotonic() - started
        return result


class SampleBluesky:
    """The bundled Bluesky search results as one source: per search term, the post views that
    ``app.bsky.feed.searchPosts`` returned for it (and the municipality whose term it is)."""

    key = "sample:bluesky"

    def __init__(self, pseudonymiser: Pseudonymiser, path: Path | None = None) -> None:
        self.pseudonymiser = pseudonymiser
        self.path = path or SAMPLE_DIR / "bluesky.json"

    def collect(self, state: dict[str, Any]) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(self.key)
        for search in json.loads(self.path.read_text(encoding="utf-8")):
            for view in search["posts"]:
                post = map_post(view, self.pseudonymiser, search["term"], search["municipality"])
                result.posts.append(post)
        result.duration_s = time.monotonic() - started
        return result


class SampleMastodon:
    """The bundled Mastodon hashtag timelines as one source: per instance and tag, the statuses the
    timeline returned (newest first). As the live source does, a boost counts as the status it
    boosts (the booster is no voice) and a status read once already is not read again; a reply's
    parent and conversation root are found among the file's statuses, where the live source asks
    the instance for the status's context."""

    key = "sample:mastodon"

    def __init__(self, pseudonymiser: Pseudonymiser, path: Path | None = None) -> None:
        self.pseudonymiser = pseudonymiser
        self.path = path or SAMPLE_DIR / "mastodon.json"

    def collect(self, state: dict[str, Any]) -> SourceResult:
        started = time.monotonic()
        result = SourceResult(self.key)
        timelines = json.loads(self.path.read_text(encoding="utf-8"))
        by_id = {str(s["id"]): original(s) for t in timelines for s in t["statuses"]}
        seen: set[str] = set()
        for timeline in timelines:
            name = channel(timeline["tag"], timeline["instance"])
            for status in map(original, timeline["statuses"]):
                if status["uri"] in seen:
                    continue
                seen.add(status["uri"])
                parent = by_id.get(str(status.get("in_reply_to_id")))
                root = parent
                while root is not None and root.get("in_reply_to_id"):
                    root = by_id.get(str(root["in_reply_to_id"]))
                result.posts.append(
                    map_status(
                        status,
                        name,
                        self.pseudonymiser,
                        timeline["municipality"],
                        parent_uri=parent["uri"] if parent else None,
                        root_uri=root["uri"] if root else None,
                    )
                )
        result.duration_s = time.monotonic() - started
        return result


class SampleFeed:
    """One bundled news feed file as one source."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = FEED_NAMES.get(path.name, path.stem)
        self.key = f"sample:rss:{path.name}"

    def collect(self, state: dict[str, Any]) -> SourceResult:
        started = time.monotonic()
        # The files carry their own dates; "fetched at" is fixed so the demo is reproducible.
        result = parse_feed(self.path.read_bytes(), self.name, sample_end())
        result.source_key = self.key
        result.duration_s = time.monotonic() - started
        return result


def sample_sources(
    pseudonymiser: Pseudonymiser,
) -> list[SampleReddit | SampleBluesky | SampleMastodon | SampleFeed]:
    feeds = sorted(p for p in (SAMPLE_DIR / "feeds").iterdir() if p.suffix in (".rss", ".atom"))
    return [
        SampleReddit(pseudonymiser),
        SampleBluesky(pseudonymiser),
        SampleMastodon(pseudonymiser),
        *(SampleFeed(p) for p in feeds),
    ]


def intended_mix() -> dict[str, Any]:
    """The profile mix the corpus was written with (voices per profile), from the sidecar file."""
    return parse_yaml((SAMPLE_DIR / "intended_mix.yaml").read_text(encoding="utf-8"))


def sample_end() -> datetime:
    """The last day the sample covers; the demo estimates over the period up to this date."""
    return datetime(2026, 11, 25, tzinfo=UTC)


def demo_config_path() -> Path:
    return SAMPLE_DIR / "demo.toml"
