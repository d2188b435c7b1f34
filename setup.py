"""Compiles the NLP modules that every post passes through to C with mypyc; the rest of the package's
build is in pyproject.toml.

Compiled, the enrichment does the same work faster on real text (README, "Speed on real text"). The
build needs a C compiler and Python's headers; ``BETROKKEN_COMPILED=0`` installs plain Python instead
(and removes what an earlier build compiled in place). Beside the compiled modules the build writes
``nlp/compiled.json``: which modules it compiled, and the hash of every source of the package as the
build began, by which ``nlp/__init__.py`` tells whether the compiled code is still that of the sources.
"""

import json
import os
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

sys.path.insert(0, str(Path(__file__).parent))
from nlp import COMPILED_MANIFEST, NOT_COMPILED, compiled_here, package_sources  # this checkout's

COMPILED = ("pipeline", "sentiment", "topics", "trust", "language", "literals")
SHARED_LIBRARY = "nlp.native"  # mypyc's module with the compiled code of all of them
SOURCES = package_sources()  # before mypyc reads them: a file saved during the build counts as changed


class BuildAndRecord(build_ext):
    """build_ext, then ``compiled.json`` beside the modules it built (in place or in the build folder)."""

    def run(self) -> None:
        super().run()
        if not self.extensions:
            return
        folder = Path(self.get_ext_fullpath(f"{SHARED_LIBRARY}__mypyc")).parent
        record = {"compiled": [f"nlp.{name}" for name in COMPILED], "sources": SOURCES}
        (folder / COMPILED_MANIFEST).write_text(json.dumps(record, indent=1) + "\n")


def extensions() -> list:
    if os.environ.get(NOT_COMPILED) == "0":
        for name in compiled_here():  # an editable install over an earlier build: run what it says
            for built in Path("nlp").glob(f"{name.rpartition('.')[2]}.*"):
                if built.suffix != ".py":
                    built.unlink()
        for leftover in (*Path("nlp").glob("*__mypyc*"), Path("nlp", COMPILED_MANIFEST)):
            leftover.unlink(missing_ok=True)
        return []
    from mypyc.build import mypycify

    # The dependencies' types are left unknown (Any), wherever they are installed: the compiled code
    # then does not depend on their versions, and mypy does not read all of spaCy, torch and the rest.
    options = ["--no-site-packages", "--ignore-missing-imports", "--follow-imports=silent"]
    return mypycify([*options, *(f"nlp/{name}.py" for name in COMPILED)], group_name=SHARED_LIBRARY)


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildAndRecord})
