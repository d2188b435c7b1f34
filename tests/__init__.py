"""The test suite. Its folders mirror the packages (flows, sources, nlp, profiles, warehouse);
what spans several packages (the docs, property tests) stays here."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


def fresh_python(
    script: str,
    *args: str,
    timeout: float = 120,
    hash_seed: str | None = None,
    environment: dict[str, str] | None = None,
    cwd: Path = REPO,
) -> str:
    """The standard output of ``script`` run in a fresh Python process (as a worker starts), in ``cwd``
    (the repository), which must succeed: for what only a new process shows, such as the modules an
    import pulls in, or (with ``hash_seed``, Python's PYTHONHASHSEED) what a salted string hash
    changes. ``environment`` adds variables to those of this process."""
    env = {**os.environ, **(environment or {})}
    if hash_seed is not None:
        env["PYTHONHASHSEED"] = hash_seed
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        cwd=cwd,
        env=env,
    )
    return done.stdout
