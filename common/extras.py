"""The optional extras of the package (``[project.optional-dependencies]``) as messages name them.

Every message that says an extra is missing is written by :func:`needs_extra`, so the command a
user is told to run is the same wherever the extra turns out to be missing.
"""

from __future__ import annotations


def needs_extra(what: str, extra: str) -> str:
    """``what`` needs ``extra``, with the pip command that installs it where betrokken is installed.

    The text holds square brackets: print it through rich only escaped.
    """
    return f"{what} needs the {extra} extra: pip install 'betrokken[{extra}]'"
