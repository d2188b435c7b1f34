"""PII minimisation: personal data in post text is replaced by typed placeholders before storage.

The warehouse only needs what people say about policy, not how to reach them (GDPR art. 5(1)(c),
data minimisation). E-mail addresses, phone numbers, IBANs, BSNs, street addresses with a house
number, and user mentions are replaced by a placeholder naming the kind (``[telefoon]``), so NLP
still sees that something was there and reports can count it.

The patterns favour precision on ordinary Dutch text: years, dates, times, amounts, percentages,
postcodes on their own and street names without a house number stay, because people discuss them
all the time and they identify nobody. Each kind is a separate pass in a fixed order (e-mail before
mentions, IBAN before phone and BSN) and passes repeat until nothing changes, so the result is
idempotent even where one replacement changes the context of another.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import NamedTuple

EMAIL = "e-mail"
PHONE = "telefoon"
IBAN = "iban"
BSN = "bsn"
ADDRESS = "adres"
MENTION = "gebruiker"

KINDS: tuple[str, ...] = (EMAIL, PHONE, IBAN, BSN, ADDRESS, MENTION)
PLACEHOLDERS: dict[str, str] = {kind: f"[{kind}]" for kind in KINDS}


class Scrubbed(NamedTuple):
    """The scrubbed text and how many items of each kind were replaced.

    A named tuple, so both ``text, counts = scrub(...)`` and ``scrub(...).text`` work.
    """

    text: str
    counts: Counter[str]


# --- e-mail ---------------------------------------------------------------------------------------
# Also the common obfuscations "naam [at] gemeente [punt] nl" and "naam(at)gemeente.nl".
_AT = r"(?:@|[ \u00a0]?[\[(](?:at|AT|At)[\])][ \u00a0]?)"
_DOT = r"(?:\.|[ \u00a0]?[\[(](?:dot|DOT|punt|PUNT)[\])][ \u00a0]?)"
_EMAIL_RE = re.compile(rf"(?<![\w.%+@-])[\w.%+-]+{_AT}(?:[\w-]+{_DOT})+[A-Za-z]{{2,}}(?![\w-])")

# --- IBAN -----------------------------------------------------------------------------------------
# Total IBAN length per country (ISO 13616 registry). The regex takes exactly that many characters,
# so a following word or number is never swallowed. The check digits are not verified: a mistyped
# IBAN still points at a person, and a country code, two digits and exactly the country's length is
# specific enough (verifying them would also leave a mistyped IBAN's tail to the phone pattern).
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "KW": 30, "KZ": 20, "LB": 28,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MT": 31,
    "NO": 15, "PL": 28, "PT": 25, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "XK": 20,
}  # fmt: skip


def _iban_pattern() -> str:
    by_length: dict[int, list[str]] = {}
    for country, length in _IBAN_LENGTHS.items():
        by_length.setdefault(length, []).append(country)
    # Dutch: NLkk BANK dddd dddd dd, also typed in lower case; the shape alone is specific enough.
    parts = [r"(?i:NL)[0-9]{2}[ \u00a0]?(?i:[A-Z]{4})(?:[ \u00a0]?[0-9]){10}"]
    for length, countries in sorted(by_length.items()):
        parts.append(rf"(?:{'|'.join(sorted(countries))})[0-9]{{2}}(?:[ \u00a0]?[A-Z0-9]){{{length - 4}}}")
    return rf"(?<![A-Za-z0-9])(?:{'|'.join(parts)})(?![A-Za-z0-9])"


_IBAN_RE = re.compile(_iban_pattern())


# --- phone numbers --------------------------------------------------------------------------------
# Dutch numbers are 10 digits with the trunk 0: 06 + 8 (mobile), 0xx + 7 or 0xxx + 6 (landline).
# Inside the number only spaces and hyphens separate groups; after the area code also "." or "/"
# ("06.12345678", "030/1234567"). Exact digit counts keep neighbouring numbers out of the match.
_C = r"[\s\S]"  # inside a look-behind: the character just matched
_S = r"(?:[ \u00a0]?[-\u2013][ \u00a0]?|[ \u00a0])"  # separator inside a number
_A = rf"(?:{_S}|[ \u00a0]?[./][ \u00a0]?)"  # separator after the area code


def _digits(n: int) -> str:
    return rf"[0-9](?:{_S}?[0-9]){{{n - 1}}}"


_NATIONAL = rf"(?:6{_A}?{_digits(8)}|[1-57-9][0-9]{_A}?{_digits(7)}|[1-57-9][0-9]{{2}}{_A}?{_digits(6)})"
_AFTER_31 = rf"[ \u00a0]?31{_S}?(?:\(0\){_S}?|0{_S}?)?{_NATIONAL}"
# Each alternative starts with its first character and only then looks behind it: a pattern that
# starts with a plain character lets the regex engine skip ahead to candidates quickly.
_PHONE_BEFORE = rf"(?<![\w+€]{_C})(?<!€[ \u00a0]{_C})(?<![0-9][-./:,]{_C})"
_PHONE_RE = re.compile(
    rf"(?:\+{_PHONE_BEFORE}(?:{_AFTER_31}"  # +31 6 ..., +31 (0)30 ...
    rf"|(?!31)[1-9][0-9]{{0,2}}{_S}?[0-9](?:{_S}?[0-9]){{7,11}})"  # other countries
    rf"|0{_PHONE_BEFORE}(?:0{_AFTER_31}|{_NATIONAL})"  # 0031 6 ..., 06 ..., 030 ...
    rf"|\({_PHONE_BEFORE}(?:06\)[ \u00a0]?{_digits(8)}|0[1-57-9][0-9]\)[ \u00a0]?{_digits(7)}"
    rf"|0[1-57-9][0-9]{{2}}\)[ \u00a0]?{_digits(6)}))"  # (06) ..., (030) ..., (0488) ...
    r"(?![0-9])(?![.,:/][0-9])"
)
# "06-11-2026 10" has the digits of a mobile number; a leading date is not a phone number.
_DATE_START = re.compile(r"[0-9]{1,2}[-./][0-9]{1,2}[-./](?:19|20)[0-9]{2}(?![0-9])")


def _is_phone(match: re.Match[str]) -> bool:
    return _DATE_START.match(match.group(0)) is None


# --- BSN ------------------------------------------------------------------------------------------
# Nine digits, plain or grouped 3-3-3 or 4-2-3 with dots or spaces, that pass the elfproef. Amounts
# with a currency next to them are not BSNs, whatever their digits.
_BSN_RE = re.compile(
    r"[0-9](?<![\w.,€-][0-9])(?<!€[ \u00a0][0-9])(?<![0-9][ \u00a0][0-9])(?<!(?i:eur)[ \u00a0][0-9])"
    r"(?:[0-9]{8}|[0-9]{2}(?P<s1>[. \u00a0])[0-9]{3}(?P=s1)[0-9]{3}"  # 123456782, 123.456.782
    r"|[0-9]{3}(?P<s2>[. \u00a0])[0-9]{2}(?P=s2)[0-9]{3})"  # 1234.56.782
    r"(?![0-9])(?![.,\-][0-9])(?![ \u00a0][0-9])"
    r"(?![ \u00a0]?(?:euro|EUR|€|mln|miljoen|miljard))"
)
# A number that the text itself calls a BSN is one, even with a typo or written as 8 digits.
_BSN_LABELLED_RE = re.compile(
    r"(?P<label>(?<!\w)(?i:bsn|burgerservicenummer|sofi-?nummer|sofinr)\b"
    r"\W{0,4}(?:(?i:is|nummer|nr)\W{1,4})?)"
    r"(?P<number>[0-9]{8,9}|[0-9]{3}[. \u00a0][0-9]{3}[. \u00a0][0-9]{2,3}"
    r"|[0-9]{4}[. \u00a0][0-9]{2}[. \u00a0][0-9]{3})"
    r"(?![0-9])"
)
_BSN_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def elfproef(digits: str) -> bool:
    """The BSN eleven test on 8 or 9 digits (8 digits read with a leading zero)."""
    if len(digits) == 8:
        digits = "0" + digits
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit() or digits == "000000000":
        return False
    return sum(w * int(d) for w, d in zip(_BSN_WEIGHTS, digits, strict=True)) % 11 == 0


def _is_bsn(match: re.Match[str]) -> bool:
    return elfproef(match.group(0).replace(".", "").replace(" ", "").replace("\u00a0", ""))


# --- addresses ------------------------------------------------------------------------------------
# Street name suffixes. Strong ones make a street even in lower case ("ik woon op de biltstraat 4");
# weak ones are also ordinary words ("sportveld", "vergadering" ends in "ring"), so they need a
# capitalised name ("Maliebaan 12", "Janskerkhof 3"). "dam" and "berg" are left out: they end too many
# place and family names ("Amsterdam 1-0", "Van den Berg 3").
_STRONG_SUFFIXES = (
    "straatweg", "straat", "straatje", "laan", "laantje", "weg", "wegje", "plein", "pleintje",
    "gracht", "kade", "singel", "dijk", "steeg", "steegje", "dreef", "plantsoen", "boulevard", "allee",
)  # fmt: skip
_WEAK_SUFFIXES = (
    "hof", "hofje", "park", "markt", "baan", "ring", "wal", "veld", "erf", "burg", "pad", "paadje",
    "plaats", "haven", "poort", "oord", "vaart", "brink", "zijde", "hoek",
)  # fmt: skip
_SUFFIX_SET = frozenset(_STRONG_SUFFIXES + _WEAK_SUFFIXES)
_SUFFIX_LENGTHS = tuple(sorted({len(s) for s in _SUFFIX_SET}, reverse=True))
_STRONG = frozenset(_STRONG_SUFFIXES)
# Words that end in a suffix but are no street: "we waren onderweg 2 uur".
_NOT_STREETS = frozenset({"onderweg", "halfweg", "snelweg", "uitweg", "omweg", "zijweg", "rijweg"})
_NOT_STREET_ENDINGS = ("ering",)  # "vergadering 12", "aflevering 3": ends in "ring", is no street

# A number followed by a unit, a month or a count is no house number: "Domplein 12 uur lang",
# "op het Domplein 5 mei", "aan de Kanaalweg 40 woningen".
_NOT_HOUSE_NUMBER_AFTER = (
    "%|procent|uur|u|jaar|jaren|keer|minuten|min|km|kilometer|meter|m|m2|euro|eur|graden|dagen|weken"
    "|maanden|januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november"
    "|december|jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec|woningen|huizen|bomen|mensen"
    "|bewoners|plekken|parkeerplaatsen"
)
_NO_UNIT = rf"(?![ \u00a0]?(?i:{_NOT_HOUSE_NUMBER_AFTER})(?![\w]))"
_HOUSE_NUMBER = (
    rf"(?P<number>[1-9][0-9]{{0,3}}){_NO_UNIT}"
    r"(?P<addition>[ \u00a0]?-[ \u00a0]?[0-9]{1,4}(?![0-9])"  # 12-3, 12-14
    r"|(?:[ \u00a0]?-[ \u00a0]?|[ \u00a0])?(?:bis|hs|bg|I{1,3}|IV|[A-Za-z])(?![\w]))?"  # 12a, 12 A, 12-bis
)
_NUMBER_END = rf"(?![0-9])(?![-.,:/][0-9])(?![\w]){_NO_UNIT}"
_WORD = r"[^\W\d_][\w'’-]*+"
_STREET_RE = re.compile(
    rf"(?<![\w'’-])(?P<street>{_WORD})[ \u00a0]?,?[ \u00a0]?"
    rf"(?:(?i:nr|no|nummer|huisnummer)\.?[ \u00a0]?)?{_HOUSE_NUMBER}{_NUMBER_END}"
)
# Cheap test that a text has a number right after a word ("lijn 12", "Biltstraat, nr. 4") before the
# street pattern scans every word: it starts with a digit, which the regex engine skips to quickly.
_WORD_NUMBER_HINT = re.compile(
    r"[1-9](?:(?<=[^\W\d_][ \u00a0,.][1-9])|(?<=[^\W\d_][ \u00a0,.]{2}[1-9])"
    r"|(?<=[^\W\d_][ \u00a0,.]{3}[1-9]))"
)
_WORD_BEFORE = re.compile(r"(?<![\w'’-])[^\W\d_][\w'’-]*[ \u00a0]\Z")
_WORD_CHAR = re.compile(r"[\w'’-]")
# "Laan van Nieuw Oost-Indië 12", "Weg der Verenigde Naties 1": the number follows the name part.
_STREET_OF_RE = re.compile(
    r"(?:Laan|Weg|Straat|Plein|Kade|Dreef|Singel|Hof|Plantsoen|Park|Gracht)"
    r"[ \u00a0](?:van|der|de|den|ten|ter|tot|aan|op)(?:[ \u00a0](?:de|der|den|het|'t))?"
    rf"(?:[ \u00a0][A-Z][\w'’-]*+){{1,3}}[ \u00a0]{_HOUSE_NUMBER}{_NUMBER_END}"
)
# Postcode with a house number: "3511 AB 12", "3511AB12", "3511AB, nr 12". A postcode alone
# identifies nobody, nor does a list of them ("3511 AB, 3512 CD").
_POSTCODE_RE = re.compile(
    r"[1-9](?<![\w][1-9])[0-9]{3}(?:[ \u00a0]?[A-Z]{2}|[a-z]{2})(?![^\W\d_])"
    r"(?:[ \u00a0]?,?[ \u00a0]?(?i:nr|no|nummer|huisnummer)\.?[ \u00a0]?|[ \u00a0]?)"
    rf"{_HOUSE_NUMBER}{_NUMBER_END}(?![ \u00a0]?[A-Z]{{2}}(?!\w))"  # not the next postcode of a list
)


def _starts_a_word(match: re.Match[str]) -> bool:
    start = match.start()
    return start == 0 or not _WORD_CHAR.match(match.string, start - 1)


def _street_suffix(word: str) -> str | None:
    """The longest street suffix that ``word`` ends in, or None (also for the few non-streets)."""
    lower = word.lower()
    if lower in _NOT_STREETS or lower.endswith(_NOT_STREET_ENDINGS):
        return None
    for length in _SUFFIX_LENGTHS:
        if lower[-length:] in _SUFFIX_SET:
            return lower[-length:]
    return None


def _is_year(match: re.Match[str]) -> bool:
    """'Woningmarkt 2026': a bare four-digit number from 1800 to 2099 reads as a year, not a house."""
    number = match.group("number")
    return len(number) == 4 and 1800 <= int(number) <= 2099 and not match.group("addition")


def _is_street(match: re.Match[str]) -> bool:
    """Whether a word + number match is a street address (the caller keeps any words before it)."""
    if _is_year(match):
        return False
    street = match.group("street")
    suffix = _street_suffix(street)
    if suffix is None:
        return False
    capitalised = street[0].isupper()
    if len(street) - len(suffix) < 2:
        # A bare suffix ("Gracht 12", "veld 3") is a street only in a capitalised two-word name.
        return capitalised and _capitalised_word_before(match.string, match.start())
    return capitalised or suffix in _STRONG


def _capitalised_word_before(text: str, end: int) -> bool:
    """True when ``text[:end]`` ends in a capitalised word and one space ("Oude " of "Oude Gracht")."""
    if end < 2 or text[end - 1] not in " \u00a0":
        return False
    start = max(0, end - 80)  # no qualifier word is that long
    match = _WORD_BEFORE.search(text, start, end)
    return match is not None and match.group(0)[0].isupper()


# --- mentions -------------------------------------------------------------------------------------
_MENTION_RE = re.compile(
    r"@(?<![\w@.+/-]@)(?=\w*[^\W\d_])\w(?:[\w.-]*\w)?(?:@[\w-]+(?:\.[\w-]+)+)?"  # @naam, @naam@server.nl
    r"|u(?<![\w/]u)/[\w-]+"  # u/naam
    r"|/(?<![\w/]/)u/[\w-]+"  # /u/naam
    r"|/(?<=reddit\.com/)u(?:ser)?/[\w-]+"  # reddit.com/u/naam, reddit.com/user/naam
)

# --- the passes -----------------------------------------------------------------------------------
_Check = Callable[[re.Match[str]], bool]
_ANY_DIGIT = re.compile(r"[0-9]")
# IBANs, phone numbers and BSNs all hold eight digits with at most short separators between them.
_LONG_NUMBER_HINT = re.compile(r"[0-9](?:[^0-9A-Za-z]{0,3}[0-9]){7}")
_OBFUSCATED_AT = re.compile(r"[\[(](?i:at)[\])]")
_BSN_WORDS = ("bsn", "BSN", "Bsn", "sofi", "Sofi", "SOFI", "urgerservice")
_MAX_PASSES = 8


def _always(_: re.Match[str]) -> bool:
    return True


def _run(
    pattern: re.Pattern[str], kind: str, text: str, counts: Counter[str], check: _Check = _always
) -> str:
    placeholder = PLACEHOLDERS[kind]

    def replace(match: re.Match[str]) -> str:
        if check(match):
            counts[kind] += 1
            return placeholder
        return match.group(0)

    return pattern.sub(replace, text)


def _run_bsn_labelled(text: str, counts: Counter[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        counts[BSN] += 1
        return match.group("label") + PLACEHOLDERS[BSN]

    return _BSN_LABELLED_RE.sub(replace, text)


def _pass(text: str, counts: Counter[str]) -> str:
    has_at = "@" in text
    if has_at or _OBFUSCATED_AT.search(text) is not None:
        text = _run(_EMAIL_RE, EMAIL, text, counts)
    if _ANY_DIGIT.search(text) is not None:
        if _LONG_NUMBER_HINT.search(text) is not None:
            text = _run(_IBAN_RE, IBAN, text, counts)
            text = _run(_PHONE_RE, PHONE, text, counts, _is_phone)
            if any(word in text for word in _BSN_WORDS):
                text = _run_bsn_labelled(text, counts)
            text = _run(_BSN_RE, BSN, text, counts, _is_bsn)
        text = _run(_POSTCODE_RE, ADDRESS, text, counts)
        text = _run(_STREET_OF_RE, ADDRESS, text, counts, lambda m: _starts_a_word(m) and not _is_year(m))
        if _WORD_NUMBER_HINT.search(text) is not None:
            text = _run(_STREET_RE, ADDRESS, text, counts, _is_street)
    if has_at or "u/" in text or "/user/" in text:
        text = _run(_MENTION_RE, MENTION, text, counts)
    return text


def scrub(text: str) -> Scrubbed:
    """``text`` with personal data replaced by placeholders, and the number replaced per kind.

    Never raises on a str; the result is a fixed point (scrubbing it again changes nothing).
    """
    counts: Counter[str] = Counter()
    if not text:
        return Scrubbed(text, counts)
    # A pass that replaced nothing left the text as it was: that is the fixed point. Each pass that
    # does replace something shrinks what is left to match, so this ends; the bound is a safeguard.
    for _ in range(_MAX_PASSES):
        before = sum(counts.values())
        text = _pass(text, counts)
        if sum(counts.values()) == before:
            break
    return Scrubbed(text, counts)
