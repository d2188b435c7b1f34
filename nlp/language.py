"""Language identification from function words, with a Dutch vocabulary for short texts.

Municipal posts are short and informal; telling Dutch from the languages seen beside it (English
most, German and French from visitors and neighbours) does not need a model. Each word votes for
every language whose function-word list holds it (spaCy's stop words, less the ordinary Dutch words
of ``data/language.yaml``); Dutch wins with 1.5 times the votes of the strongest other language.
Texts with too few function words to decide (headlines, "Bedankt, Dennis.") are Dutch when most of
their words are Dutch words and no other language has more votes. The vocabulary behind that is
spaCy's Dutch lemma tables (every form and lemma, not only those of the lookup lemmatizer), the
sentiment lexicon, and compounds of two such words ("ziekenhuis|fusie").

A token with letters is one word, known when one of its letter runs is ("fed-besluit", "-ja",
"zzp'er"; runs of one letter, such as the "s" of "auto's", are left out), and each run votes. The
result is "nl", "en" or "und" (undetermined: too little to go on, German, French or another language).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

from nlp._spacy import DE_STOP_WORDS, EN_STOP_WORDS, FR_STOP_WORDS
from nlp._spacy import NL_STOP_WORDS as SPACY_NL_STOP_WORDS
from nlp.data import load_yaml

LANGUAGES = ("nl", "en", "de", "fr")  # the order of every vote count below
_NOT_FOREIGN = load_yaml("language.yaml")["not_foreign"]
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "nl": frozenset(SPACY_NL_STOP_WORDS),
    **{
        lang: frozenset(words) - frozenset(_NOT_FOREIGN[lang])
        for lang, words in (("en", EN_STOP_WORDS), ("de", DE_STOP_WORDS), ("fr", FR_STOP_WORDS))
    },
}
NL_STOP_WORDS: frozenset[str] = FUNCTION_WORDS["nl"]

MIN_COMPOUND_PART = 4  # "fusie" and "ziekenhuis" make a compound; three-letter parts match anything
MIN_SHARE_KNOWN = 0.6  # of a text's words in the Dutch vocabulary, when function words do not decide
MIN_RATIO = 1.5  # votes of the winner over those of the runner-up

_LETTER_RUN = re.compile(r"[^\W\d_]{2,}")


_NO_VOTES = (0,) * len(LANGUAGES)
# Every function word's votes, looked up once per word instead of tested against four lists.
_VOTES = {
    word: tuple(int(word in FUNCTION_WORDS[lang]) for lang in LANGUAGES)
    for word in frozenset().union(*FUNCTION_WORDS.values())
}


def word_votes(word: str) -> tuple[int, ...]:
    """1 per language (``LANGUAGES`` order) whose function-word list holds ``word``, else 0."""
    return _VOTES.get(word, _NO_VOTES)


def token_counts(token: str, is_dutch_word: Callable[[str], bool] | None = None) -> list[int]:
    """What a lowercased token adds to its text's counts: words, words in the Dutch vocabulary
    (``is_dutch_word``; none without it), then the votes per language in ``LANGUAGES`` order."""
    runs = [token] if token.isalpha() else _LETTER_RUN.findall(token)
    if not runs:
        return [0, 0, *_NO_VOTES]
    known = int(is_dutch_word is not None and any(map(is_dutch_word, runs)))
    votes = map(sum, zip(*map(word_votes, runs), strict=True)) if len(runs) > 1 else word_votes(runs[0])
    return [1, known, *votes]


def is_compound(word: str, known: Callable[[str], bool]) -> bool:
    """Whether ``word`` is two known words glued together, the first maybe with a linking "s"
    ("ziekenhuis|fusie", "gemeente|raad", "arbeids|markt")."""
    n = len(word)
    for i in range(MIN_COMPOUND_PART, n - MIN_COMPOUND_PART + 1):
        if known(word[i:]):
            head = word[:i]
            if known(head) or (head[-1] == "s" and len(head) > MIN_COMPOUND_PART and known(head[:-1])):
                return True
    return False


def decide(votes: Sequence[int], known: int, total: int) -> str:
    """The decision from counts: function-word votes per language (``LANGUAGES`` order), the words
    in the Dutch vocabulary, and all words."""
    nl = votes[0]
    rival, other = max(zip(votes[1:], LANGUAGES[1:], strict=True))
    if nl + rival >= 2:
        if nl >= MIN_RATIO * rival:
            return "nl"
        if rival >= MIN_RATIO * nl:
            return "en" if other == "en" else "und"
    # Short or mixed: Dutch when most words are Dutch and no other language has more votes.
    if total > 0 and nl >= rival and known / total >= MIN_SHARE_KNOWN:
        return "nl"
    return "und"


def identify(tokens: Iterable[str], is_dutch_word: Callable[[str], bool] | None = None) -> str:
    """'nl', 'en' or 'und' for the lowercased tokens of a text (``is_dutch_word``: the vocabulary;
    without it only function words count)."""
    counts = [0, 0] + [0] * len(LANGUAGES)
    for token in tokens:
        counts = [a + b for a, b in zip(counts, token_counts(token, is_dutch_word), strict=True)]
    return decide(counts[2:], counts[1], counts[0])
