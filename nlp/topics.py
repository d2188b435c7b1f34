"""Municipal policy topics matched on lemmas, compound parts and phrases (multi-label, explainable)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from nlp.data import load_yaml

MIN_COMPOUND_LENGTH = 5
ANYWHERE_STEM_LENGTH = 7  # shorter stems only count at a word's start or end ("zorg" not in "bezorgd")


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    label: str
    description: str


@dataclass(frozen=True, slots=True)
class TopicHit:
    """A topic that fired, its score in (0, 1] (1 - 0.5 ** words, rounded) and the words that fired."""

    id: str
    score: float
    evidence: tuple[str, ...]


class TopicMatcher:
    """Assigns taxonomy topics to a post from its lemmas and normalised text."""

    def __init__(self, taxonomy_file: str = "topics.yaml") -> None:
        data = load_yaml(taxonomy_file)
        self.topics: list[Topic] = []
        self._by_lemma: dict[str, set[str]] = {}
        stems: dict[str, set[str]] = {}
        phrases: dict[str, set[str]] = {}
        for entry in data["topics"]:
            topic_id = entry["id"]
            self.topics.append(Topic(topic_id, entry["label"], entry["description"]))
            for lemma in entry.get("lemmas", []):
                self._by_lemma.setdefault(str(lemma).lower(), set()).add(topic_id)
            for stem in entry.get("stems", []):
                target = phrases if " " in str(stem) else stems
                target.setdefault(str(stem).lower(), set()).add(topic_id)
        self._stems = stems
        self._phrases = phrases
        self._weak = frozenset(str(w).lower() for w in data.get("weak", []))
        # One alternation per kind: longest first, so "parkeertarie" wins over a shorter overlap.
        self._stem_start = _alternation(stems, anchor="start")
        self._stem_end = _alternation(stems, anchor="end")
        self._stem_inside = _alternation({k: v for k, v in stems.items() if len(k) >= ANYWHERE_STEM_LENGTH})
        self._phrase_re = _alternation(phrases, word_bounded=True)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.topics]

    def word_hits(self, word: str) -> tuple[tuple[str, str], ...]:
        """(topic, evidence) pairs for one lemma or word form: exact lemmas and compound parts."""
        hits = {(t, word) for t in self._by_lemma.get(word, ())}
        if len(word) >= MIN_COMPOUND_LENGTH:
            for pattern in (self._stem_start, self._stem_end, self._stem_inside):
                if pattern is not None:
                    for match in pattern.finditer(word):
                        hits.update((t, word) for t in self._stems[match.group(0)])
        return tuple(sorted(hits))

    def collect(self, hits: Iterable[tuple[str, str]], lower_text: str) -> list[TopicHit]:
        """Topics from word hits plus the multi-word phrases found in the text."""
        evidence: dict[str, set[str]] = {}
        for topic_id, ev in hits:
            evidence.setdefault(topic_id, set()).add(ev)
        # Phrases are few; test them as substrings before paying for the regex scan.
        if self._phrase_re is not None and any(p in lower_text for p in self._phrases):
            for match in self._phrase_re.finditer(lower_text):
                for topic_id in self._phrases[match.group(0)]:
                    evidence.setdefault(topic_id, set()).add(match.group(0))
        hits_out = [
            TopicHit(topic_id, round(1.0 - 0.5 ** len(ev), 4), tuple(sorted(ev)))
            for topic_id, ev in evidence.items()
            if len(ev) >= 2 or not ev <= self._weak
        ]
        return sorted(hits_out, key=lambda h: (-h.score, h.id))


def _alternation(
    words: dict[str, set[str]], word_bounded: bool = False, anchor: str | None = None
) -> re.Pattern[str] | None:
    if not words:
        return None
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    if word_bounded:
        return re.compile(rf"\b(?:{body})\b")
    if anchor == "start":
        return re.compile(f"^(?:{body})")
    if anchor == "end":
        return re.compile(f"(?:{body})$")
    return re.compile(f"(?:{body})")
