"""Which municipality a post concerns: a gazetteer of names, aliases and places, plus channels.

A post concerns a municipality when it names the municipality or one of its places, or when it
comes from a channel configured for that municipality and names no other one. A comment without
place names inherits the municipality of its thread. Posts that concern none are stored as such
and not enriched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    municipality_id: str
    names: tuple[str, ...]  # municipality name and aliases: matched case-insensitively
    places: tuple[str, ...]  # kernen, wijken, places: matched case-sensitively (proper nouns)
    channels: tuple[str, ...]  # e.g. "r/utrecht", lowercased


class Gazetteer:
    """Finds the municipalities a text names, with one pass over the text however many
    municipalities are configured: an Aho-Corasick automaton of all names (lowercased) and one of
    all places, whose hits count when they stand as whole words."""

    def __init__(self, entries: Iterable[GazetteerEntry]) -> None:
        self.entries = list(entries)
        self._order = {entry.municipality_id: i for i, entry in enumerate(self.entries)}
        self._names = _automaton((name.lower(), e.municipality_id) for e in self.entries for name in e.names)
        self._places = _automaton((place, e.municipality_id) for e in self.entries for place in e.places)
        self._channels: dict[str, str] = {}
        for entry in self.entries:
            for channel in entry.channels:
                self._channels[channel.lower()] = entry.municipality_id

    def mentions(self, text: str) -> list[str]:
        """Municipalities named in the text, in configuration order."""
        found = _hits(self._names, text.lower()) | _hits(self._places, text)
        return sorted(found, key=self._order.__getitem__)

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


def _automaton(terms: Iterable[tuple[str, str]]) -> ahocorasick.Automaton | None:
    """term -> (its length, the municipalities it names)."""
    by_term: dict[str, set[str]] = {}
    for term, municipality_id in terms:
        if term:
            by_term.setdefault(term, set()).add(municipality_id)
    if not by_term:
        return None
    automaton = ahocorasick.Automaton()
    for term, municipalities in by_term.items():
        automaton.add_word(term, (len(term), frozenset(municipalities)))
    automaton.make_automaton()
    return automaton


def _hits(automaton: ahocorasick.Automaton | None, text: str) -> set[str]:
    """Municipalities of the terms that occur in the text as whole words (no letter, digit or
    underscore right before or after)."""
    found: set[str] = set()
    if automaton is None:
        return found
    last = len(text) - 1
    for end, (length, municipalities) in automaton.iter(text):
        start = end - length + 1
        if (start == 0 or not _is_word(text[start - 1])) and (end == last or not _is_word(text[end + 1])):
            found |= municipalities
    return found


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"
