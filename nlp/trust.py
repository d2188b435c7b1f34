"""Trust toward the municipality, per post: distrust, neutral or trust (phrase patterns as data)."""

from __future__ import annotations

import re
from re import _parser as sre_parse  # type: ignore[attr-defined]  # the stdlib's regex parser, for literals
from typing import Any

from nlp.data import load_yaml
from nlp.literals import LiteralBits


def _branch_literals(arg: Any) -> set[str] | None:
    """The alternatives of a group like ``(doen|doet)`` when each one is plain text, else None."""
    items = list(arg[-1])  # a group's subpattern
    if len(items) != 1 or items[0][0] is not sre_parse.BRANCH:
        return None
    alternatives = set()
    for alternative in items[0][1][1]:
        if not alternative or any(op is not sre_parse.LITERAL for op, _ in alternative):
            return None
        alternatives.add("".join(chr(c) for _, c in alternative).strip())
    return alternatives if all(alternatives) else None


def required_parts(pattern: str) -> tuple[frozenset[str], ...]:
    """Sets of strings of which every match of ``pattern`` contains one member each.

    Looks only at top-level parts that cannot be skipped: runs of plain characters, and groups of
    plain alternatives such as ``(vertrouw|geloof)``; parts with a member shorter than three
    characters are left out (they occur everywhere). A text that lacks a member of any one of these
    sets cannot match; an empty tuple means nothing is known and the pattern is always searched.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return ()
    parts: list[frozenset[str]] = []
    run = ""
    for op, arg in parsed:
        if op is sre_parse.LITERAL:
            run += chr(arg)
            continue
        if run.strip():
            parts.append(frozenset({run.strip()}))
        run = ""
        if op is sre_parse.SUBPATTERN and (alternatives := _branch_literals(arg)):
            parts.append(frozenset(alternatives))
    if run.strip():
        parts.append(frozenset({run.strip()}))
    return tuple(part for part in parts if min(len(x) for x in part) >= 3)


class TrustDetector:
    """Counts which distrust and which trust patterns occur; the larger side wins.

    A pattern is only searched when each of its required parts occurs in the text. One pass of an
    automaton finds all those strings. Each string knows, per part position, the patterns whose part
    at that position contains it, as bits of an integer, the positions side by side in one integer
    (position j from bit j times the number of patterns); OR-ing those of the strings found, then
    AND-ing the positions, leaves exactly the patterns whose every part is present, without a loop
    over the patterns. (Filing a pattern under one part was not enough: "gemeente" is in most
    posts.)
    """

    def __init__(self, patterns_file: str = "trust.yaml") -> None:
        data = load_yaml(patterns_file)
        sources = [(side, source) for side, key in ((-1, "distrust"), (1, "trust")) for source in data[key]]
        self._patterns = [(side, re.compile(source)) for side, source in sources]
        parts = [required_parts(source) for _, source in sources]
        positions = max((len(p) for p in parts), default=0)
        width = len(parts)
        self._one_position = (1 << width) - 1
        self._shifts = tuple(width * j for j in range(1, positions))
        # Per position, the patterns with no part there: that position never rules them out.
        self._unconstrained = sum(
            1 << (i + width * j) for j in range(positions) for i, p in enumerate(parts) if len(p) <= j
        )
        by_literal: dict[str, int] = {}
        for i, pattern_parts in enumerate(parts):
            for j, part in enumerate(pattern_parts):
                for literal in part:
                    by_literal[literal] = by_literal.get(literal, 0) | 1 << (i + width * j)
        # Each required string with its bits; the enrichment looks for these together with other
        # strings in one pass over a post (``detect_found``).
        self.literal_bits = by_literal
        self._always = sum(1 << i for i, p in enumerate(parts) if not p)
        self._literals = LiteralBits(by_literal)  # ``detect``'s own pass, for a text nobody scanned yet

    def detect(self, lower_text: str) -> str:
        """distrust, neutral or trust for a lowercased text."""
        return self.detect_found(lower_text, self._literals.found(lower_text))

    def detect_found(self, lower_text: str, found: int) -> str:
        """``detect``, given the OR of ``literal_bits`` of the strings that occur in the text."""
        satisfied = self._unconstrained | found
        candidates = satisfied & self._one_position
        for shift in self._shifts:
            candidates &= satisfied >> shift
        candidates |= self._always
        balance = 0
        while candidates:
            lowest = candidates & -candidates
            candidates ^= lowest
            side, pattern = self._patterns[lowest.bit_length() - 1]
            if pattern.search(lower_text):
                balance += side
        if balance < 0:
            return "distrust"
        if balance > 0:
            return "trust"
        return "neutral"
