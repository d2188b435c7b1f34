"""The test suite. Its folders mirror the packages (flows, sources, nlp, profiles, warehouse);
what spans several packages (the docs, property tests) stays here."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
