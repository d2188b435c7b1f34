"""Language identification from function words, with a vocabulary fallback for short posts.

Municipal posts are short and informal; telling Dutch from English (the only other language seen in
practice) does not need a model. The count of Dutch versus English stop words (spaCy's lists)
decides. A post too short for that ("Top geregeld weer") is Dutch when most of its words are in the
Dutch lemma table; otherwise it is "und" (undetermined).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from spacy.lang.en.stop_words import STOP_WORDS as _EN
from spacy.lang.nl.stop_words import STOP_WORDS as _NL

_NL_ONLY = frozenset(_NL - _EN)
_EN_ONLY = frozenset(_EN - _NL)


def identify(lower_words: Sequence[str], is_dutch_word: Callable[[str], bool] | None = None) -> str:
    """'nl', 'en' or 'und' for the lowercased alphabetic words of a text."""
    nl = sum(1 for w in lower_words if w in _NL_ONLY)
    en = sum(1 for w in lower_words if w in _EN_ONLY)
    if nl + en >= 2:
        if nl >= 1.5 * en:
            return "nl"
        if en >= 1.5 * nl:
            return "en"
    # Short or mixed: Dutch when most words are Dutch lemmas or forms.
    if is_dutch_word is not None and lower_words and nl >= en:
        known = sum(1 for w in lower_words if is_dutch_word(w))
        if known / len(lower_words) >= 0.6:
            return "nl"
    return "und"
