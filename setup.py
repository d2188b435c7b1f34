"""Compiles the NLP modules that every post passes through to C with mypyc; the rest of the package's
build is in pyproject.toml.

On real text the plain-Python enrichment spent most of its time in the interpreter itself (see the
README's speed section); the compiled modules do the same work ~1.4x faster. The build needs a C
compiler and Python's headers; ``BETROKKEN_COMPILED=0`` installs plain Python instead. Beside the
compiled modules the build writes ``nlp/compiled.json``, the hash of each module's source, by which
``nlp/__init__.py`` tells whether the compiled code is still that of the sources.
"""

import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).parent))
from nlp import COMPILED_MANIFEST, NOT_COMPILED, source_hash  # this checkout's package, not an installed one

COMPILED = ("pipeline", "sentiment", "topics", "trust", "language", "literals")
SHARED_LIBRARY = "nlp.native"  # mypyc's module with the compiled code of all of them


class BuildAndRecord(build_ext):
    """build_ext, then ``compiled.json`` beside the modules it built (in place or in the build folder)."""

    def run(self) -> None:
        super().run()
        if not self.extensions:
            return
        folder = Path(self.get_ext_fullpath(f"{SHARED_LIBRARY}__mypyc")).parent
        recorded = {f"nlp.{name}": source_hash(Path("nlp", f"{name}.py")) for name in COMPILED}
        (folder / COMPILED_MANIFEST).write_text(json.dumps(recorded, indent=1) + "\n")


def extensions() -> list:
    if os.environ.get(NOT_COMPILED) == "0":
        return []
    from mypyc.build import mypycify

    # The dependencies' types are left unknown (Any), wherever they are installed: the compiled code
    # then does not depend on their versions, and mypy does not read all of spaCy, torch and the rest.
    options = ["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent"]
    return mypycify([*options, *(f"nlp/{name}.py" for name in COMPILED)], group_name=SHARED_LIBRARY)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildAndRecord})
