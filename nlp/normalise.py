"""Social-media text normalisation before tokenising.

Links and user mentions carry no opinion and confuse the lexicons; stretched letters ("leuuuk")
and all-caps shouting are folded so the lexicon still finds the word.
"""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)(?:/?u/[\w-]+|@[\w.]+)")
_SUBREDDIT = re.compile(r"(?<!\w)/?r/(\w+)")
_REPEATS = re.compile(r"(\w)\1{2,}")
_CONTROL = re.compile(
    r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)
_MARKDOWN = re.compile(r"\[([^\]]*)\]\([^)]*\)")
# A lone surrogate (half of a JSON escape) cannot be encoded, and spaCy's string store raises on it.
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalise(text: str) -> str:
    """Text ready for the tokenizer: NFC, no links, mentions or control characters.

    Stretched letters are folded per word by ``fold_repeats`` (the enricher caches words, so that
    costs nothing per post); runs of spaces are left to the tokenizer.
    """
    text = _SURROGATE.sub("\ufffd", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("", text)
    # Cheap substring checks first: most posts have no links or mentions, and each regex costs a scan.
    if "](" in text:
        text = _MARKDOWN.sub(r"\1", text)
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text or "u/" in text:
        text = _MENTION.sub(" ", text)
    if "r/" in text:
        text = _SUBREDDIT.sub(r"\1", text)
    return text.strip()


def fold_repeats(word: str, keep: int = 2) -> str:
    """'leuuuuk' -> 'leuuk' (or 'leuk' with keep=1): runs of three or more letters are cut short."""
    if _REPEATS.search(word) is None:  # nearly every word: a search costs half a substitution
        return word
    return _REPEATS.sub(r"\1" * keep, word)


def is_shouting(text: str) -> bool:
    """True when most letters are capitals: an intensity cue, lowercased before lookup."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.7
