"""Parts of a text file that a script writes between two marker lines (the README's generated parts)."""

from __future__ import annotations

from pathlib import Path


def replace_between(text: str, begin: str, end: str, block: str) -> str:
    """``text`` with everything from the ``begin`` line through the ``end`` line replaced by ``block``.

    ``block`` must itself start with ``begin`` and end with ``end`` plus a newline, so that the
    markers stay in place for the next rewrite.
    """
    start, stop = text.find(begin), text.find(end)
    if start < 0 or stop < start:
        raise ValueError(f"the file needs the two lines {begin!r} and {end!r}, in that order")
    return text[:start] + block + text[stop + len(end) + 1 :]


def rewrite(path: Path, updated: str, what: str, command: str, *, check: bool) -> int:
    """Write ``updated`` to ``path`` if it differs (or with ``check``, only say that it does).

    Returns the exit code of a script that keeps a generated part up to date: 1 for a stale file under
    ``check``, otherwise 0.
    """
    if updated == path.read_text(encoding="utf-8"):
        return 0
    if check:
        print(f"{path}: out of date ({what}); run {command}")
        return 1
    path.write_text(updated, encoding="utf-8")
    print(f"{path}: {what} rewritten")
    return 0
