"""Language identification from function words, with a vocabulary fallback for short posts.

Municipal posts are short and informal; telling Dutch from English (the only other language seen in
practice) does not need a model. The count of Dutch versus English stop words (spaCy's lists)
decides. A post too short for that ("Top geregeld weer") is Dutch when most of its words are in the
Dutch lemma table; otherwise it is "und" (undetermined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from nlp._spacy import EN_STOP_WORDS as _EN
from nlp._spacy import NL_STOP_WORDS as _NL

NL_STOP_WORDS = frozenset(_NL)
NL_ONLY = frozenset(_NL - _EN)
EN_ONLY = frozenset(_EN - _NL)


def word_vote(word: str) -> int:
    """+1 for a Dutch-only function word, -1 for an English-only one, 0 otherwise."""
    return 1 if word in NL_ONLY else -1 if word in EN_ONLY else 0


def decide(nl: int, en: int, known: int, total: int) -> str:
    """The decision from counts: Dutch and English function words, known Dutch words, all words."""
    if nl + en >= 2:
        if nl >= 1.5 * en:
            return "nl"
        if en >= 1.5 * nl:
            return "en"
    # Short or mixed: Dutch when most words are Dutch lemmas or forms.
    if total and nl >= en and known / total >= 0.6:
        return "nl"
    return "und"


def identify(lower_words: Sequence[str], is_dutch_word: Callable[[str], bool] | None = None) -> str:
    """'nl', 'en' or 'und' for the lowercased alphabetic words of a text."""
    votes = [word_vote(w) for w in lower_words]
    known = sum(1 for w in lower_words if is_dutch_word(w)) if is_dutch_word is not None else 0
    return decide(votes.count(1), votes.count(-1), known, len(lower_words))
