"""Named points where a test can kill the running process, to prove that a run killed there
leaves the warehouse consistent and the next run completes it.

Set ``BETROKKEN_KILL_AT`` to a point's name (e.g. ``store:before-commit``) in the environment of
a run started as a subprocess; the process kills itself with SIGKILL when it reaches the point
(after ``BETROKKEN_KILL_AFTER`` earlier passes, default 0). Unset, a point costs one dict lookup.
"""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def point(name: str) -> None:
    if os.environ.get("BETROKKEN_KILL_AT") != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] > int(os.environ.get("BETROKKEN_KILL_AFTER", "0")):
        os.kill(os.getpid(), signal.SIGKILL)
