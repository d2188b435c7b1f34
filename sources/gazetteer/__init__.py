"""Shipped gazetteer data per municipality (by CBS code), merged with what the config lists."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from common.yamlfile import parse_yaml

GAZETTEER_DIR = Path(str(resources.files("sources.gazetteer")))


@dataclass(frozen=True, slots=True)
class PlaceNames:
    aliases: tuple[str, ...]
    places: tuple[str, ...]


def _shipped_data(cbs_code: str) -> dict:
    path = GAZETTEER_DIR / f"{cbs_code}.yaml"
    return parse_yaml(path.read_text(encoding="utf-8")) if path.exists() else {}


def shipped_kind(cbs_code: str) -> str | None:
    """The kind of municipality shipped for a CBS code (`city`, `villages`); None when not shipped."""
    return _shipped_data(cbs_code).get("kind")


def shipped(cbs_code: str) -> PlaceNames:
    """Names shipped for a CBS code; empty when the project ships none for it."""
    data = _shipped_data(cbs_code)
    if not data:
        return PlaceNames((), ())
    places = [
        *data.get("kernen", []),
        *data.get("wijken", []),
        *data.get("buurten", []),
        *data.get("places", []),
    ]
    return PlaceNames(tuple(data.get("aliases", [])), tuple(places))
