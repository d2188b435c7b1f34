"""Loading of the NLP data files that ship with the package."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

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


def checkout_commit() -> str:
    """The commit a fit ran on, for its provenance: "-dirty" when the code had uncommitted changes,
    "unknown" outside a git checkout."""
    try:
        return subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=7"],
            cwd=DATA_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def save_parameters(
    path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray], provenance: dict[str, Any]
) -> None:
    """A fitted model's parameters as ``path`` (.npz: ``meta`` as JSON and the arrays) and its
    provenance beside it (.json, for people to read)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
    text = json.dumps(provenance, indent=2, ensure_ascii=False)
    path.with_suffix(".json").write_text(text + "\n", encoding="utf-8")


def read_parameters(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, Any]]:
    """The meta, arrays and provenance ({} without its file) that ``save_parameters`` wrote. Raises
    OSError, ValueError, KeyError or zipfile.BadZipFile for a file that cannot be read as one."""
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(bytes(data["meta"]).decode())
        arrays = {name: data[name] for name in data.files if name != "meta"}
    provenance_path = path.with_suffix(".json")
    provenance = json.loads(provenance_path.read_text("utf-8")) if provenance_path.exists() else {}
    return meta, arrays, provenance
