"""Municipal policy topics matched on lemmas, compound parts and phrases (multi-label, explainable)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from mypy_extensions import mypyc_attr

from nlp.data import load_yaml
from nlp.literals import Literals

MIN_COMPOUND_LENGTH = 5
ANYWHERE_STEM_LENGTH = 7  # shorter stems only count at a word's start or end ("zorg" not in "bezorgd")
# A text this short (a headline) that has only weak words is about them: "Weer minder subsidie" names
# its field with one word, a long post mentions "de auto" in passing (issue #21, chosen on the
# development headlines: 8 gave their coverage at no cost in precision, 12 cost precision).
WEAK_ALONE_WORDS = 8


# Values that callers keep, pickle and copy: plain Python classes under mypyc too (setup.py), where a
# compiled frozen dataclass cannot be unpickled.
@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class ScoreModel:
    """How sure a topic is, as a probability: a logistic model over what the matcher saw.

    Its inputs are the number of different words that fired for the topic, the topic's share of
    all topic words in the text (a topic beside a stronger one is often a passing mention), and the
    length of the text in words (one word in a long article says less than one in a headline). The
    weights are fitted by ``bench/topic_calibration.py`` on labelled posts and kept in topics.yaml.
    """

    intercept: float
    log_words: float
    share: float
    log_length: float

    @staticmethod
    def features(n_words: int, share: float, text_words: int) -> tuple[float, float, float, float]:
        """The model's inputs (with the constant 1 first); the fit reads them from here too."""
        return (1.0, math.log(max(n_words, 1)), share, math.log(max(text_words, 1)))

    def probability(self, n_words: int, share: float, text_words: int) -> float:
        x = self.features(n_words, share, text_words)
        weights = (self.intercept, self.log_words, self.share, self.log_length)
        return 1.0 / (1.0 + math.exp(-sum(w * v for w, v in zip(weights, x, strict=True))))


SCORE_MODEL = ScoreModel(**load_yaml("topics.yaml")["score"]["weights"])


@lru_cache(maxsize=4096)  # few combinations occur, and a topic is scored for a third of real posts
def topic_score(n_words: int, share: float, text_words: int) -> float:
    """The probability that a text is about a topic (``ScoreModel``), rounded: ``n_words`` different
    words fired for it, which are ``share`` of all topic words fired in a text of ``text_words`` words."""
    return round(SCORE_MODEL.probability(n_words, share, text_words), 4)


# The score is calibrated (bench/topic_calibration.py): of the topics scored 0.75, about three in four
# are what the text is about, the rest passing mentions ("de tram naar het park" in a long article).
# The report files a news headline under its best topic only from this score on (with the
# zero-shot and embedding backends the score is a probability too and the same bar applies).
MAIN_TOPIC_SCORE = 0.75


@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    label: str
    description: str
    words: tuple[str, ...] = ()  # its lemmas, in the order of topics.yaml (the core words first)


@mypyc_attr(native_class=False)
@dataclass(frozen=True, slots=True)
class TopicHit:
    """A topic that fired, its score in (0, 1) (``topic_score``: a probability) and the words that fired."""

    id: str
    score: float
    evidence: tuple[str, ...]


class TopicMatcher:
    """Assigns taxonomy topics to a post from its lemmas and normalised text."""

    def __init__(self, taxonomy_file: str = "topics.yaml") -> None:
        data = load_yaml(taxonomy_file)
        self.topics: list[Topic] = []
        self._by_lemma: dict[str, set[str]] = {}
        stems: dict[str, set[str]] = {}
        phrases: dict[str, set[str]] = {}
        for entry in data["topics"]:
            topic_id = entry["id"]
            words = tuple(str(w).lower() for w in entry.get("lemmas", []))
            self.topics.append(Topic(topic_id, entry["label"], entry["description"], words))
            for lemma in entry.get("lemmas", []):
                target = phrases if " " in str(lemma) else self._by_lemma
                target.setdefault(str(lemma).lower(), set()).add(topic_id)
            for stem in entry.get("stems", []):
                target = phrases if " " in str(stem) else stems
                target.setdefault(str(stem).lower(), set()).add(topic_id)
        self._stems = stems
        self._phrases = phrases
        self._weak = frozenset(str(w).lower() for w in data.get("weak", []))
        self._except = frozenset(str(w).lower() for w in data.get("except", []))
        # Stems are looked up by slicing the word, longest first, so "parkeertarie" wins over a
        # shorter overlap (a regex alternation tried every stem at every position: 20 us a word).
        self._stem_lengths = sorted({len(k) for k in stems}, reverse=True)
        self._inside = {k for k in stems if len(k) >= ANYWHERE_STEM_LENGTH}
        self._inside_lengths = sorted({len(k) for k in self._inside}, reverse=True)
        self._inside_heads = {k[:ANYWHERE_STEM_LENGTH] for k in self._inside}
        # Most words start and end like no stem: three letters rule them out before any slicing.
        self._stem_starts = {k[:3] for k in stems}
        self._stem_ends = {k[-3:] for k in stems}
        # Most words contain no stem at all: one pass of an automaton tells so (~1 us, where the
        # scans of ``_compound_parts`` and the plural candidates took 5-15 us a word).
        self._stem_literals = Literals(stems)
        self._phrase_re = _alternation(phrases)
        self._phrase_literals = Literals(phrases)  # for callers that have not scanned the text themselves
        # A text is scanned for phrases only when one of its words starts one: a set lookup per
        # text instead of a substring search per phrase (there are some hundred).
        self._phrase_starts = frozenset(p.split()[0] for p in phrases)

    @property
    def ids(self) -> list[str]:
        return [t.id for t in self.topics]

    @property
    def weak(self) -> list[str]:
        """Words often mentioned in passing (topics.yaml `weak`): alone they weigh least."""
        return sorted(self._weak)

    def word_hits(self, word: str) -> tuple[tuple[str, str], ...]:
        """(topic, evidence) pairs for one lemma or word form: exact lemmas and compound parts
        (the longest stem that starts the word, the longest that ends it, and long stems anywhere).

        A plural whose singular is a lemma of the list counts as that lemma ("wethouders" is
        "wethouder"), so a singular and its plural are one word; a plural that matches nothing is
        tried as its singular ("ziekenhuizen"). Words in the `except` list are never evidence."""
        if word in self._except or not self._may_match(word):
            return ()
        topics = self._topics_of(word)
        evidence = word
        for candidate in singulars(word):
            if topics and candidate in self._by_lemma and self._by_lemma[candidate] <= topics:
                evidence = candidate
                break
            if not topics and (found := self._topics_of(candidate)):
                topics, evidence = found, candidate
                break
        return tuple((t, evidence) for t in sorted(topics))

    def token_hits(self, form: str, lemma: str) -> tuple[tuple[str, str], ...]:
        """``word_hits`` of a token from its form and its lemma, as one piece of evidence per topic:
        "woningen" (lemma "woning") is one word, not two. The lemma's evidence wins where both match."""
        if lemma == form or form in self._except:
            return self.word_hits(form)
        form_hits = self.word_hits(form)
        lemma_hits = self.word_hits(lemma)
        if not form_hits or not lemma_hits:  # most words: at most one of them matches
            return form_hits or lemma_hits
        by_topic = dict(form_hits)
        by_topic.update(lemma_hits)
        return tuple(sorted(by_topic.items()))

    def _may_match(self, word: str) -> bool:
        """False when neither ``word`` nor a singular it may be the plural of is a lemma of the list
        or contains a stem: then ``word_hits`` has nothing to find."""
        if word in self._by_lemma or self._stem_literals.any_in(word):
            return True
        if word[-1:] not in ("s", "n"):  # no plural ending, so no singulars
            return False
        # a singular that is part of the word ("fietser" of "fietsers") holds no stem either
        return any(
            c in self._by_lemma or (c not in word and self._stem_literals.any_in(c)) for c in singulars(word)
        )

    def _topics_of(self, word: str) -> set[str]:
        """The topics one word matches, as a lemma or through its compound parts."""
        topics = set(self._by_lemma.get(word, ()))
        if len(word) >= MIN_COMPOUND_LENGTH:
            for stem in self._compound_parts(word):
                topics.update(self._stems[stem])
        return topics

    def _compound_parts(self, word: str) -> list[str]:
        parts = []
        n = len(word)
        stems = self._stems
        if word[:3] in self._stem_starts:
            for k in self._stem_lengths:  # the longest stem the word starts with
                if k <= n and word[:k] in stems:
                    parts.append(word[:k])
                    break
        if word[-3:] in self._stem_ends:
            for k in self._stem_lengths:  # the longest stem the word ends with
                if k <= n and word[n - k :] in stems:
                    parts.append(word[n - k :])
                    break
        heads = self._inside_heads
        i = 0  # long stems anywhere: leftmost, longest, not overlapping
        while i <= n - ANYWHERE_STEM_LENGTH:
            if word[i : i + ANYWHERE_STEM_LENGTH] in heads:
                for k in self._inside_lengths:
                    if i + k <= n and word[i : i + k] in self._inside:
                        parts.append(word[i : i + k])
                        i += k
                        break
                else:
                    i += 1
            else:
                i += 1
        return parts

    @property
    def phrases(self) -> list[str]:
        """The multi-word phrases that are topic evidence (lowercased)."""
        return list(self._phrases)

    def collect(
        self, hits: Iterable[tuple[str, str]], lower_text: str, phrase_found: bool | None = None
    ) -> list[TopicHit]:
        """Topics from word hits plus the multi-word phrases found in the text. ``phrase_found``:
        whether one of ``phrases`` occurs in the text as a substring, when the caller knows (else
        this looks)."""
        evidence: dict[str, set[str]] = {}
        for topic_id, ev in hits:
            evidence.setdefault(topic_id, set()).add(ev)
        starts = self._phrase_starts
        if phrase_found is None:  # most texts hold no phrase at all, which one pass of an automaton tells
            phrase_found = self._phrase_literals.any_in(lower_text)
        if self._phrase_re is not None and phrase_found:
            words = lower_text.split()
            if not starts.isdisjoint(words) or not starts.isdisjoint(
                w.strip(_PUNCTUATION) for w in words if not w.isalnum()
            ):
                for match in self._phrase_re.finditer(lower_text):
                    for topic_id in self._phrases[match.group(0)]:
                        evidence.setdefault(topic_id, set()).add(match.group(0))
        if not evidence:
            return []
        text_words = len(lower_text.split())
        kept = {t: ev for t, ev in evidence.items() if len(ev) >= 2 or not ev <= self._weak}
        if not kept and text_words <= WEAK_ALONE_WORDS:
            kept = evidence
        total = sum(len(ev) for ev in kept.values())
        hits_out = [
            TopicHit(topic_id, topic_score(len(ev), len(ev) / total, text_words), tuple(sorted(ev)))
            for topic_id, ev in kept.items()
        ]
        return sorted(hits_out, key=lambda h: (-h.score, h.id))


_VOWELS = frozenset("aeiou")
_PUNCTUATION = "\"'()[]{},.;:!?«»“”‘’"


def singulars(word: str) -> tuple[str, ...]:
    """Singular forms a Dutch plural may come from, most likely first: "-'s" and "-s" ("auto's",
    "fietsers"), "-en" with a doubled consonant undone ("bussen") or an open syllable's vowel
    doubled back ("scholen" -> "school", "banen" -> "baan"). No candidate is shorter than 3 letters."""
    out: list[str] = []
    if word.endswith("'s"):
        out.append(word[:-2])
    elif word.endswith("s") and not word.endswith("ss"):
        out.append(word[:-1])
    elif word.endswith("en") and len(word) > 4:
        stem = word[:-2]
        if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in _VOWELS:
            out.append(stem[:-1])  # bussen -> bus
        elif len(stem) > 2 and stem[-1] not in _VOWELS and stem[-2] in _VOWELS and stem[-3] not in _VOWELS:
            out.append(stem[:-1] + stem[-2] + stem[-1])  # scholen -> school
        out.append(stem)
        if stem[-1] in "zv":  # huizen -> huis, brieven -> brief
            out.extend(w[:-1] + ("s" if w[-1] == "z" else "f") for w in list(out))
    return tuple(w for w in out if len(w) >= 3)


def _alternation(words: dict[str, set[str]]) -> re.Pattern[str] | None:
    """Whole-word alternation of phrases, longest first."""
    if not words:
        return None
    body = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"\b(?:{body})\b")
