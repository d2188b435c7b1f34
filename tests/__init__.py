"""The test suite. Its folders mirror the packages (flows, sources, nlp, profiles, warehouse);
what spans several packages (the docs, property tests) stays here."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def fresh_python(script: str, *args: str, timeout: float = 120) -> str:
    """The standard output of ``script`` run in a fresh Python process (as a worker starts), which
    must succeed: for what only a new process shows, such as the modules an import pulls in."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=timeout, check=True
    )
    return done.stdout
