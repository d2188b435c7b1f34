"""Dutch NLP for municipal-policy posts: language, lemmas, topics, sentiment and trust.

Installing the package compiles the modules every post passes through to C with mypyc (``setup.py``)
and records, in ``compiled.json``, which modules it compiled and a hash of every source file of this
package as the build began. The compiled modules run only while every one of those sources is
unchanged, no compiled file is left that the record does not name, and ``BETROKKEN_COMPILED`` is not
"0"; otherwise all of them run as plain Python, with a warning unless that was asked for. All or
none, because compiled modules call into each other directly and would refuse a plain-Python module
in a compiled one's place.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from importlib.machinery import EXTENSION_SUFFIXES, ModuleSpec
from importlib.util import spec_from_file_location
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
COMPILED_MANIFEST = "compiled.json"  # {"compiled": [module names], "sources": package_sources()}
NOT_COMPILED = "BETROKKEN_COMPILED"  # "0": install and run plain Python only
PLAIN_ON_REQUEST = f"{NOT_COMPILED}=0"
NOTHING_COMPILED = "installed without compiling"


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def package_sources() -> dict[str, str]:
    """Every source file of this package by name, with its hash: what compiled code may depend on."""
    return {path.name: source_hash(path) for path in sorted(PACKAGE_DIR.glob("*.py"))}


def compiled_here() -> set[str]:
    """The modules of this package with a compiled file beside their source (mypyc's shared library
    with the code of them all, ``*__mypyc``, is not one)."""
    return {
        f"{__name__}.{path.name.partition('.')[0]}"
        for suffix in EXTENSION_SUFFIXES
        for path in PACKAGE_DIR.glob(f"*{suffix}")
        if "__mypyc" not in path.name
    }


def build_record() -> dict:
    """``compiled.json`` as the build wrote it; empty when there is none."""
    try:
        return json.loads((PACKAGE_DIR / COMPILED_MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def why_plain_python(record: dict) -> str | None:
    """Why the compiled modules run as plain Python, or None when they run compiled."""
    here = compiled_here()
    if not here:
        return NOTHING_COMPILED
    if os.environ.get(NOT_COMPILED) == "0":
        return PLAIN_ON_REQUEST
    if unrecorded := sorted(here - set(record.get("compiled", ()))):
        return f"{', '.join(unrecorded)} compiled with no record of its sources (`make clean`, then install)"
    now, then = package_sources(), record.get("sources", {})
    if changed := sorted(name for name in now.keys() | then.keys() if now.get(name) != then.get(name)):
        return f"{', '.join(f'nlp/{name}' for name in changed)} changed since the build"
    return None


class _PlainPython:
    """Finds the named modules' sources ahead of their compiled builds."""

    def __init__(self, names: set[str]) -> None:
        self.names = names

    def find_spec(self, name: str, path: object = None, target: object = None) -> ModuleSpec | None:
        if name not in self.names:
            return None
        return spec_from_file_location(name, PACKAGE_DIR / f"{name.rpartition('.')[2]}.py")


def _run_plain_python_unless_current() -> None:
    record = build_record()
    reason = why_plain_python(record)
    if reason in (None, NOTHING_COMPILED):
        return
    if reason != PLAIN_ON_REQUEST:
        warnings.warn(
            f"{reason}: the NLP runs as plain Python (slower) until the package is installed again "
            "(`make install`)",
            stacklevel=2,
        )
    sys.meta_path.insert(0, _PlainPython(compiled_here() | set(record.get("compiled", ()))))


_run_plain_python_unless_current()
