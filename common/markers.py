"""Parts of a text file that a script writes between two marker lines (the README's generated parts)."""

from __future__ import annotations


def replace_between(text: str, begin: str, end: str, block: str) -> str:
    """``text`` with everything from the ``begin`` line through the ``end`` line replaced by ``block``.

    ``block`` must itself start with ``begin`` and end with ``end`` plus a newline, so that the
    markers stay in place for the next rewrite.
    """
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the file needs the two lines {begin!r} and {end!r}, in that order")
    return text[:start] + block + text[stop + len(end) + 1 :]
