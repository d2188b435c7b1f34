"""Input hygiene: every text from a source is made safe to store and to tokenise, once, at the door.

Feeds and APIs deliver what they like: bytes in a wrong encoding, lone surrogates from a JSON escape
cut in half, control characters, invisible zero-width and bidirectional-override characters (used to
hide or disguise text), and now and then a "post" of megabytes. Lone surrogates make UTF-8 encoders
and DuckDB fail; invisible characters split words so that lexicons miss them; huge texts cost memory
and time in every later stage. ``sanitise`` fixes all of that and says what it did.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# The stored maximum. Longer than any real post or article body (a Reddit post is capped at 40,000
# characters, and local news articles run to a few thousand), yet small enough that a runaway
# input cannot dominate the NLP batch it lands in. NLP reads at most its own, smaller prefix.
MAX_CHARS = 100_000
# Only this much of an oversized input is cleaned at all (the rest would be cut off anyway); the
# margin leaves room for characters that cleaning removes.
_WORK_FACTOR = 4
# A cut looks this far back for a space, so that no word is split; failing that it cuts hard.
_WORD_BOUNDARY_WINDOW = 200


@dataclass(frozen=True, slots=True)
class Sanitised:
    """Clean text and what happened to it.

    ``removed`` counts the characters dropped (invisible and control characters, extra blank lines,
    surrounding whitespace, and the truncated tail); characters that were replaced or merged by
    decoding and normalisation are not counted. ``empty`` is True when nothing visible was left.
    """

    text: str
    truncated: bool
    removed: int
    empty: bool


_SURROGATE = re.compile("[\ud800-\udfff]")
_NEWLINES = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")


def _noncharacters() -> str:
    """U+FDD0..U+FDEF and the last two code points of each plane, as a character-class body."""
    ranges = ["\ufdd0-\ufdef"]
    for plane in range(17):
        base = plane * 0x10000
        ranges.append(f"{chr(base + 0xFFFE)}{chr(base + 0xFFFF)}")
    return "".join(ranges)


_EMOJI = "\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff"
# Dropped: C0 and C1 controls except tab and newline (the line breaks among them are newlines by
# then), zero-width and invisible formatting characters (soft hyphen, word joiner, BOM, invisible
# operators), bidirectional marks, embeddings, overrides and isolates, and non-characters.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f"
    "\u00ad\u061c\u180e\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
    f"{_noncharacters()}]"
    # A zero-width joiner stays only inside an emoji sequence (👩‍🚒, ❤️‍🔥), where it carries meaning.
    f"|(?<![{_EMOJI}\ufe0f])\u200d|\u200d(?![{_EMOJI}])"
)
# Tag characters are invisible and can smuggle hidden text; they stay only in a flag like 🏴󠁧󠁢󠁳󠁣󠁴󠁿.
_TAG = re.compile("[\U000e0000-\U000e007f]")
_TAGS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f)|[\U000e0000-\U000e007f]")
# Three or more blank lines (lines holding only spaces or tabs) become two.
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n){3,}")


def _decode(text: str | bytes | bytearray | memoryview | None) -> str:
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray | memoryview):
        return bytes(text).decode("utf-8", errors="replace")
    if not isinstance(text, str):
        raise TypeError(f"sanitise takes str, bytes or None, not {type(text).__name__}")
    if _SURROGATE.search(text) is not None:
        # A valid pair becomes its character; a lone half becomes U+FFFD.
        text = text.encode("utf-16-le", errors="surrogatepass").decode("utf-16-le", errors="replace")
    return text


def _drop_invisible(text: str) -> str:
    if "\r" in text or not text.isprintable():  # all of these are unprintable; most posts have none
        text = _NEWLINES.sub("\n", text)
        text = _INVISIBLE.sub("", text)
        if _TAG.search(text) is not None:
            text = _TAGS.sub(lambda m: m.group(1) or "", text)
    return text


def _cut(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars``, at a space near the limit when there is one."""
    window_start = max(1, max_chars - _WORD_BOUNDARY_WINDOW)
    for end in range(max_chars, window_start - 1, -1):
        if text[end].isspace():
            return text[:end]
    end = max_chars
    # Do not leave a base character without its combining accent: cut before the whole cluster.
    while end > window_start and unicodedata.combining(text[end]):
        end -= 1
    return text[:end]


def _clean(text: str) -> tuple[str, int]:
    """Everything but truncation, and how many characters it dropped (NFC merges do not count).

    Applied again after a cut, which can expose a loose end (a space, a dangling joiner).
    """
    before = len(text)
    text = _drop_invisible(text)
    dropped = before - len(text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    before = len(text)
    if "\n" in text:
        text = _BLANK_LINES.sub("\n\n\n", text)
    text = text.strip()
    return text, dropped + before - len(text)


def sanitise(text: str | bytes | None, *, max_chars: int = MAX_CHARS) -> Sanitised:
    """Clean, normalised (NFC) text of at most ``max_chars`` characters; never raises on str or bytes.

    Bytes are read as UTF-8 with invalid sequences replaced; lone surrogates are replaced too.
    Invisible, control and bidirectional-control characters are dropped, line breaks become ``\\n``,
    runs of more than two blank lines become two, and the text is stripped. A text that is still too
    long is cut at a word boundary near the limit and flagged ``truncated``. Emoji are kept.
    """
    if max_chars < 1:
        raise ValueError("max_chars must be at least 1")
    raw = _decode(text)
    removed = 0
    truncated = len(raw) > max_chars * _WORK_FACTOR
    if truncated:
        removed = len(raw) - max_chars * _WORK_FACTOR
        raw = raw[: max_chars * _WORK_FACTOR]
    clean, dropped = _clean(raw)
    removed += dropped
    if len(clean) > max_chars:
        truncated = True
        cut = _cut(clean, max_chars)
        removed += len(clean) - len(cut)
        clean, dropped = _clean(cut)
        removed += dropped
    return Sanitised(clean, truncated, removed, not clean)
