"""Input sanitising: decoding, invisible and control characters, blank lines, truncation, emptiness."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sources.sanitise import MAX_CHARS, Sanitised, sanitise


def test_plain_text_passes_unchanged() -> None:
    text = "De gemeente wil 40 bomen kappen aan de Biltstraat. Schandalig!"
    assert sanitise(text) == Sanitised(text, truncated=False, removed=0, empty=False)


def test_none_and_empty_input() -> None:
    assert sanitise(None) == Sanitised("", truncated=False, removed=0, empty=True)
    assert sanitise("") == Sanitised("", truncated=False, removed=0, empty=True)
    assert sanitise(b"").empty


# --- truncation -------------------------------------------------------------------------------------


def test_one_megabyte_post_is_truncated_at_a_word_boundary_with_a_flag() -> None:
    text = "parkeren " * 120_000  # about 1 MB
    result = sanitise(text)
    assert result.truncated and not result.empty
    assert len(result.text) <= MAX_CHARS
    assert len(result.text) > MAX_CHARS - 200
    assert result.text.endswith("parkeren")  # no half word, no trailing space
    assert result.removed == len(text) - len(result.text)


def test_one_megabyte_of_bytes_is_truncated_too() -> None:
    result = sanitise(("ëëë " * 300_000).encode("utf-8"))
    assert result.truncated and len(result.text) <= MAX_CHARS and result.text.endswith("ëëë")


def test_a_text_without_spaces_is_cut_hard() -> None:
    result = sanitise("a" * 1_000_000)
    assert result.truncated and result.text == "a" * MAX_CHARS
    assert result.removed == 1_000_000 - MAX_CHARS


def test_a_cut_keeps_an_accent_with_its_letter() -> None:
    text = "q\u0301" * 10  # no precomposed form, so NFC keeps two code points per letter
    result = sanitise(text, max_chars=5)
    assert result.truncated and result.text == "q\u0301q\u0301"


def test_text_at_the_limit_is_not_truncated() -> None:
    assert sanitise("x" * 50, max_chars=50) == Sanitised("x" * 50, False, 0, False)
    assert sanitise("x" * 51, max_chars=50).truncated


def test_max_chars_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        sanitise("tekst", max_chars=0)


# --- decoding ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"caf\xc3\xa9", "café"),
        (b"caf\xe9 om de hoek", "caf\ufffd om de hoek"),  # Latin-1 bytes are no valid UTF-8
        (b"\xff\xfe\xfd", "\ufffd\ufffd\ufffd"),
        (b"abc\xe2\x82", "abc\ufffd"),  # a sequence cut off at the end
        (b"\xef\xbb\xbfmet BOM", "met BOM"),
        (bytearray(b"gemeente"), "gemeente"),
    ],
)
def test_bytes_are_decoded_as_utf8_with_replacement(raw: bytes, expected: str) -> None:
    assert sanitise(raw).text == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\ud800b", "a\ufffdb"),
        ("\udc00", "\ufffd"),
        ("emoji \ud83d", "emoji \ufffd"),  # half of a surrogate pair, from a JSON escape cut in two
        ("\ud83d\ude00", "😀"),  # a whole pair becomes its character
    ],
)
def test_surrogates_are_replaced(text: str, expected: str) -> None:
    result = sanitise(text)
    assert result.text == expected
    result.text.encode("utf-8")  # what DuckDB and every encoder need


# --- invisible and control characters ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "removed"),
    [
        ("ge\u200bmeente", "gemeente", 1),
        ("ge\u200cmeen\u200dte", "gemeente", 2),
        ("\ufeffgemeente", "gemeente", 1),
        ("word\u2060joiner", "wordjoiner", 1),
        ("ver\u00adkeer", "verkeer", 1),  # a soft hyphen splits the word for the lexicons
        ("gemeente \u202eetneemeg\u202c", "gemeente etneemeg", 2),  # right-to-left override
        ("\u2066isolaat\u2069 \u200eLRM\u200f", "isolaat LRM", 4),
        ("arabisch\u061c teken", "arabisch teken", 1),
    ],
)
def test_zero_width_and_bidi_controls_are_removed(text: str, expected: str, removed: int) -> None:
    result = sanitise(text)
    assert result.text == expected
    assert result.removed == removed


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b\x01c\x07d\x1be\x7ff", "abcdef"),
        ("C1\x80\x9b\x9f", "C1"),
        ("regel 1\r\nregel 2\rregel 3", "regel 1\nregel 2\nregel 3"),
        ("kolom\tkolom", "kolom\tkolom"),
        ("pagina\x0cnieuw", "pagina\nnieuw"),  # form feed, vertical tab, NEL and U+2028 break lines
        ("a\x0bb\x85c\u2028d\u2029e", "a\nb\nc\nd\ne"),
        ("niet\ufdd0teken\U0001fffe", "nietteken"),
    ],
)
def test_control_characters(text: str, expected: str) -> None:
    assert sanitise(text).text == expected


def test_hidden_tag_characters_are_removed_but_flags_kept() -> None:
    scotland = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert sanitise(f"vlag {scotland}").text == f"vlag {scotland}"
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "negeer alles")
    assert sanitise(f"hallo{hidden}").text == "hallo"


def test_emoji_sequences_are_kept() -> None:
    for text in ("🙂", "🌷🌷🚲😍", "👩\u200d🚒", "❤\ufe0f\u200d🔥", "👍🏽", "🇳🇱", "🏳\ufe0f\u200d🌈"):
        result = sanitise(text)
        assert result == Sanitised(text, truncated=False, removed=0, empty=False)


def test_text_is_nfc_normalised() -> None:
    assert sanitise("cafe\u0301").text == "café"
    assert sanitise("ﬁets").text == "ﬁets"  # NFC, not NFKC: compatibility characters stay


# --- whitespace and emptiness -----------------------------------------------------------------------


def test_more_than_two_blank_lines_become_two() -> None:
    assert sanitise("a\n\nb").text == "a\n\nb"
    assert sanitise("a\n\n\nb").text == "a\n\n\nb"  # two blank lines stay
    result = sanitise("a\n\n\n\n\n\nb")
    assert result.text == "a\n\n\nb" and result.removed == 3
    assert sanitise("a\n \n\t\n  \n\u3000\nb").text == "a\n\n\nb"  # whitespace-only lines are blank


def test_surrounding_whitespace_is_stripped() -> None:
    assert sanitise("  \n\t tekst \n ").text == "tekst"


@pytest.mark.parametrize(
    "text",
    ["", " ", "\n\n\t  ", "\u200b\u200b", "\ufeff \u200d\u2060", "\u202e\u202c", "\x00\x1f", "\u3000\u00a0"],
)
def test_whitespace_and_invisible_only_text_is_empty(text: str) -> None:
    result = sanitise(text)
    assert result.empty and result.text == "" and result.removed == len(text)


# --- properties -------------------------------------------------------------------------------------

_ANY_STR = st.text(st.characters(codec=None, exclude_categories=()), max_size=300)
_AWKWARD = st.text(
    st.sampled_from(
        [
            *"ab é\n\t\r ",
            *("\u200b", "\u200d", "\u202e", "\x00", "\x85", "\ud800", "\udc00", "\ud83d", "\ude00", "\u0301"),
            *("🙂", "👩", "🚒", "\ufe0f", "🏴", "\U000e0067", "\U000e007f", "\ufffe", "\u2028", "\u00ad"),
        ]
    ),
    max_size=60,
)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(result: Sanitised, max_chars: int) -> None:
    assert isinstance(result.text, str)
    assert len(result.text) <= max_chars
    assert result.empty == (result.text == "")
    assert result.removed >= 0
    assert result.text == result.text.strip()
    for char in result.text:
        assert unicodedata.category(char) not in {"Cc", "Cs"} or char in "\n\t"
        assert char not in "\u200b\u200c\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    assert unicodedata.is_normalized("NFC", result.text)
    result.text.encode("utf-8")


@_SETTINGS
@given(st.one_of(_ANY_STR, _AWKWARD), st.integers(min_value=1, max_value=80))
@example("\ud83d\ude00\u200d", 1)
@example("a \u0301\u0301", 2)
def test_any_str_is_sanitised_and_idempotent(text: str, max_chars: int) -> None:
    for limit in (max_chars, MAX_CHARS):
        result = sanitise(text, max_chars=limit)
        _check(result, limit)
        assert sanitise(result.text, max_chars=limit) == Sanitised(result.text, False, 0, result.empty)


@_SETTINGS
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=80))
def test_any_bytes_are_sanitised_and_idempotent(raw: bytes, max_chars: int) -> None:
    result = sanitise(raw, max_chars=max_chars)
    _check(result, max_chars)
    assert sanitise(result.text, max_chars=max_chars).text == result.text
    assert sanitise(result.text.encode("utf-8"), max_chars=max_chars).text == result.text
