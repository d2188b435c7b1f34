"""Which municipality a post concerns: a gazetteer of names, aliases and places, plus channels.

A post concerns a municipality when it names the municipality or one of its places, or when it
comes from a channel configured for that municipality and names no other one. A comment without
place names inherits the municipality of its thread. Posts that concern none are stored as such
and not enriched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    municipality_id: str
    names: tuple[str, ...]  # municipality name and aliases: matched case-insensitively
    places: tuple[str, ...]  # kernen, wijken, places: matched case-sensitively (proper nouns)
    channels: tuple[str, ...]  # e.g. "r/utrecht", lowercased


class Gazetteer:
    def __init__(self, entries: Iterable[GazetteerEntry]) -> None:
        self.entries = list(entries)
        self._patterns: list[tuple[str, re.Pattern[str], re.Pattern[str] | None]] = []
        self._channels: dict[str, str] = {}
        for entry in self.entries:
            names = re.compile(_words(entry.names), re.IGNORECASE)
            places = re.compile(_words(entry.places)) if entry.places else None
            self._patterns.append((entry.municipality_id, names, places))
            for channel in entry.channels:
                self._channels[channel.lower()] = entry.municipality_id

    def mentions(self, text: str) -> list[str]:
        """Municipalities named in the text, in configuration order."""
        found = []
        for municipality_id, names, places in self._patterns:
            if names.search(text) or (places is not None and places.search(text)):
                found.append(municipality_id)
        return found

    def resolve(self, text: str, channel: str, inherited: str | None = None) -> tuple[str | None, str]:
        """(municipality id or None, the reason) for one post."""
        named = self.mentions(text)
        if len(named) == 1:
            return named[0], "named"
        channel_municipality = self._channels.get(channel.lower())
        if len(named) > 1:
            if channel_municipality in named:
                return channel_municipality, "channel+named"
            return named[0], "named-first"
        if inherited is not None:
            return inherited, "thread"
        if channel_municipality is not None:
            return channel_municipality, "channel"
        return None, "none"


def _words(terms: Iterable[str]) -> str:
    escaped = sorted((re.escape(t) for t in terms if t), key=len, reverse=True)
    return r"(?<!\w)(?:" + "|".join(escaped) + r")(?!\w)"
