"""Trust toward the municipality, per post: distrust, neutral or trust (phrase patterns as data)."""

from __future__ import annotations

import re
from re import _parser as sre_parse  # the stdlib's own regex parser, to find required literals

from nlp.data import load_yaml


def _branch_literals(arg: object) -> set[str] | None:
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


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings of which every match of ``pattern`` contains at least one; None when unknown.

    Looks only at top-level parts that cannot be skipped: runs of plain characters, and groups of
    plain alternatives such as ``(doen|doet)``. Of those it keeps the most selective (longest
    shortest member), so a text without any of them cannot match.
    """
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    options: list[set[str]] = []
    run = ""
    for op, arg in parsed:
        if op is sre_parse.LITERAL:
            run += chr(arg)
            continue
        if run.strip():
            options.append({run.strip()})
        run = ""
        if op is sre_parse.SUBPATTERN and (alternatives := _branch_literals(arg)):
            options.append(alternatives)
    if run.strip():
        options.append({run.strip()})
    options = [o for o in options if min(len(x) for x in o) >= 3]
    if not options:
        return None
    return frozenset(max(options, key=lambda o: min(len(x) for x in o)))


class TrustDetector:
    """Counts which distrust and which trust patterns occur; the larger side wins.

    Each pattern is only searched when one of its required strings occurs in the text (a fast
    substring test), which skips almost all regex work on the many posts that say nothing about trust.
    """

    def __init__(self, patterns_file: str = "trust.yaml") -> None:
        data = load_yaml(patterns_file)
        self._distrust = [(required_literals(p), re.compile(p)) for p in data["distrust"]]
        self._trust = [(required_literals(p), re.compile(p)) for p in data["trust"]]
        self._literals = sorted({s for needed, _ in self._distrust + self._trust if needed for s in needed})

    @staticmethod
    def _count(
        patterns: list[tuple[frozenset[str] | None, re.Pattern[str]]], found: set[str], text: str
    ) -> int:
        return sum(
            1 for needed, p in patterns if (needed is None or not needed.isdisjoint(found)) and p.search(text)
        )

    def detect(self, lower_text: str) -> str:
        found = {s for s in self._literals if s in lower_text}
        distrust = self._count(self._distrust, found, lower_text)
        trust = self._count(self._trust, found, lower_text)
        if distrust > trust:
            return "distrust"
        if trust > distrust:
            return "trust"
        return "neutral"
