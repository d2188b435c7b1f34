"""Dutch NLP for municipal-policy posts: language, lemmas, topics, sentiment and trust.

Installing the package compiles the modules every post passes through to C with mypyc (``setup.py``)
and records a hash of each one's source in ``compiled.json``. The compiled modules run only while all
those sources are unchanged: after an edit, or with ``BETROKKEN_COMPILED=0`` in the environment, all of
them run as plain Python, with a warning in the first case. All or none, because compiled modules
call into each other directly and would refuse a plain-Python module in a compiled one's place.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.machinery import ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
COMPILED_MANIFEST = "compiled.json"  # beside the compiled modules: {module name: source_hash}
NOT_COMPILED = "BETROKKEN_COMPILED"  # "0": install and run plain Python only


def source_hash(path: Path) -> str:
    """What ``compiled.json`` records of a compiled module's source."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def module_source(name: str) -> Path:
    """The source file of a module of this package, e.g. ``nlp.pipeline``."""
    return PACKAGE_DIR / f"{name.rpartition('.')[2]}.py"


def changed_since_compiled(recorded: dict[str, str]) -> list[str]:
    """The modules of ``recorded`` whose source is no longer the one they were compiled from."""
    changed = []
    for name, digest in recorded.items():
        try:
            if source_hash(module_source(name)) == digest:
                continue
        except OSError:
            pass
        changed.append(name)
    return changed


class _PlainPython:
    """Finds the named modules' sources ahead of their compiled builds."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        return spec_from_file_location(name, module_source(name)) if name in self.names else None


def recorded_modules() -> dict[str, str]:
    """What the build recorded in ``compiled.json`` ({module: source hash}); empty when it compiled
    nothing."""
    try:
        return json.loads((PACKAGE_DIR / COMPILED_MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


PLAIN_ON_REQUEST = f"{NOT_COMPILED}=0"


def why_plain_python(recorded: dict[str, str]) -> str | None:
    """Why the modules of ``recorded`` run as plain Python, or None when they run compiled."""
    if not recorded:
        return "installed without compiling"
    if os.environ.get(NOT_COMPILED) == "0":
        return PLAIN_ON_REQUEST
    if changed := changed_since_compiled(recorded):
        return f"{', '.join(changed)} changed since it was compiled"
    return None


def _run_plain_python_unless_current() -> None:
    recorded = recorded_modules()
    reason = why_plain_python(recorded)
    if not recorded or reason is None:
        return
    if reason != PLAIN_ON_REQUEST:
        warnings.warn(
            f"{reason}: the NLP runs as plain Python (slower) until the package is installed again "
            "(`make install`)",
            stacklevel=2,
        )
    sys.meta_path.insert(0, _PlainPython(set(recorded)))


_run_plain_python_unless_current()
