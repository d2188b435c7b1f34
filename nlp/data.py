"""Loading of the NLP data files that ship with the package."""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(str(resources.files("nlp") / "data"))


# libyaml's parser where PyYAML was built with it: the profile model and the report's messages
# took 0.3 s each to parse in pure Python, in every stage that reads them.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def parse_yaml(text: str) -> Any:
    """``yaml.safe_load`` with the fast loader; raises ``yaml.YAMLError`` alike."""
    return yaml.load(text, Loader=_LOADER)


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
