"""Keyed hashing of author names at ingest, so the warehouse never holds a username.

The key lives outside the warehouse: in ``BETROKKEN_AUTHOR_KEY`` or in a key file that is created
with mode 0600 on first use. Without the key, an author key cannot be linked back to a name; with
it, an erasure request for a name can be honoured (hash the name, delete by key).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

KEY_ENV = "BETROKKEN_AUTHOR_KEY"


class Pseudonymiser:
    """Turns author names into stable keyed hashes. ``repr`` never shows the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the author hash key must be at least 16 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Pseudonymiser(key=<hidden>)"

    def author_key(self, name: str | None) -> str | None:
        """The keyed hash of a name; None for missing or deleted authors."""
        if not name or name in {"[deleted]", "[removed]"}:
            return None
        digest = hmac.new(self._key, name.strip().casefold().encode("utf-8"), hashlib.sha256)
        return digest.hexdigest()[:24]

    def item_key(self, reference: str) -> str:
        """The keyed hash of an item's reference that names its author (an AT-URI holds the DID, a
        Mastodon status URI the username): a stable id that links no item to its public address
        without the key. Case is kept: two references that differ in case are two items."""
        return hmac.new(self._key, reference.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:24]


def load_key(key_file: Path) -> bytes:
    """The key from the environment, else from ``key_file``, which is created (0600) if missing."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode("utf-8")
    if key_file.exists():
        return key_file.read_bytes().strip()
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_hex(32).encode("ascii"))
    return key_file.read_bytes().strip()
