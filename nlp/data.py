"""Loading of the NLP data files that ship with the package."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

from common.yamlfile import parse_yaml

DATA_DIR = Path(str(resources.files("nlp") / "data"))


def load_yaml(name: str) -> Any:
    """A YAML data file from ``nlp/data``."""
    return parse_yaml((DATA_DIR / name).read_text(encoding="utf-8"))


def data_fingerprint() -> str:
    """Hash of every data file: part of the NLP version, so edited word lists re-enrich posts."""
    digest = hashlib.sha256()
    for path in sorted(DATA_DIR.iterdir()):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:8]
