"""Trust toward the municipality, per post: distrust, neutral or trust (phrase patterns as data)."""

from __future__ import annotations

import re
from re import _parser as sre_parse  # the stdlib's own regex parser, to find required literals

from nlp.data import load_yaml
from nlp.literals import Literals


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
        # Each pattern is filed under the strings it needs; patterns that need none are always tried.
        self._by_literal: dict[str, list[tuple[int, re.Pattern[str]]]] = {}
        self._always: list[tuple[int, re.Pattern[str]]] = []
        for side, key in ((-1, "distrust"), (1, "trust")):
            for source in data[key]:
                entry = (side, re.compile(source))
                needed = required_literals(source)
                if needed is None:
                    self._always.append(entry)
                for literal in needed or ():
                    self._by_literal.setdefault(literal, []).append(entry)
        self._literals = Literals(self._by_literal)

    def detect(self, lower_text: str) -> str:
        candidates = list(self._always)
        for literal in self._literals.found(lower_text):
            candidates.extend(self._by_literal[literal])
        balance = 0
        for side, pattern in dict.fromkeys(candidates):  # a pattern filed twice is searched once
            if pattern.search(lower_text):
                balance += side
        if balance < 0:
            return "distrust"
        if balance > 0:
            return "trust"
        return "neutral"
