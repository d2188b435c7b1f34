"""Trust toward the municipality, per post: distrust, neutral or trust (phrase patterns as data)."""

from __future__ import annotations

import re

from nlp.data import load_yaml


class TrustDetector:
    def __init__(self, patterns_file: str = "trust.yaml") -> None:
        data = load_yaml(patterns_file)
        self._distrust = [re.compile(p) for p in data["distrust"]]
        self._trust = [re.compile(p) for p in data["trust"]]

    def detect(self, lower_text: str) -> str:
        distrust = sum(1 for p in self._distrust if p.search(lower_text))
        trust = sum(1 for p in self._trust if p.search(lower_text))
        if distrust > trust:
            return "distrust"
        if trust > distrust:
            return "trust"
        return "neutral"
