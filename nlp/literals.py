"""Which of a fixed set of strings occur in a text, found in one pass (Aho-Corasick).

Testing each string with ``in`` costs one scan of the text per string; the word lists test dozens
of phrases and literals on every post.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import ahocorasick


class Literals:
    def __init__(self, literals: Iterable[str]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        unique = {literal for literal in literals if literal}
        if unique:
            self._automaton = ahocorasick.Automaton()
            for literal in unique:
                self._automaton.add_word(literal, literal)
            self._automaton.make_automaton()

    def found(self, text: str) -> set[str]:
        """The literals that occur in ``text`` as substrings (case-sensitive)."""
        return set(self.occurrences(text))

    def occurrences(self, text: str) -> Iterator[str]:
        """Each occurrence of a literal in ``text``, in the order they end (a literal may repeat)."""
        if self._automaton is None:
            return iter(())
        return (literal for _, literal in self._automaton.iter(text))

    def any_in(self, text: str) -> bool:
        """Whether any of the literals occurs in ``text``: stops at the first one found."""
        return self._automaton is not None and next(self._automaton.iter(text), None) is not None


class LiteralBits:
    """Which of a fixed set of strings occur in a text, as the OR of the bits of each string found:
    several questions about a text's strings answered by one pass (``Literals`` answers one)."""

    def __init__(self, bits: Mapping[str, int]) -> None:
        self._automaton: ahocorasick.Automaton | None = None
        strings = {literal: value for literal, value in bits.items() if literal}
        if strings:
            self._automaton = ahocorasick.Automaton()
            for literal, value in strings.items():
                self._automaton.add_word(literal, value)
            self._automaton.make_automaton()

    def found(self, text: str) -> int:
        """The OR of the bits of every string that occurs in ``text`` (case-sensitive); 0 for none."""
        found = 0
        if self._automaton is not None:
            for _, value in self._automaton.iter(text):
                found |= value
        return found
