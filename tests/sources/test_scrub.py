"""PII scrubbing: what is replaced, what must stay, counts, idempotence, and robustness."""

from __future__ import annotations

import random
import string
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sources.scrub import PLACEHOLDERS, Scrubbed, elfproef, scrub


def _only(text: str, kind: str) -> str:
    """The scrubbed text, asserting that exactly one item of ``kind`` (and nothing else) was replaced."""
    result = scrub(text)
    assert result.counts == Counter({kind: 1}), (text, result)
    return result.text


def _untouched(text: str) -> None:
    result = scrub(text)
    assert result.text == text, (text, result.text)
    assert not result.counts


def test_placeholders_and_result_shape() -> None:
    assert PLACEHOLDERS == {
        "e-mail": "[e-mail]",
        "telefoon": "[telefoon]",
        "iban": "[iban]",
        "bsn": "[bsn]",
        "adres": "[adres]",
        "gebruiker": "[gebruiker]",
    }
    result = scrub("Mail jan@example.nl")
    assert isinstance(result, Scrubbed)
    text, counts = result  # also a plain tuple
    assert text == result.text == "Mail [e-mail]"
    assert counts == result.counts == Counter({"e-mail": 1})
    assert scrub("") == ("", Counter())


# --- e-mail -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail me op jan.jansen@gmail.com.", "Mail me op [e-mail]."),
        ("Vragen? info@gemeente-utrecht.nl", "Vragen? [e-mail]"),
        ("(p.de.vries+raad@student.uu.nl)", "([e-mail])"),
        ("Stuur naar j.bakker@xs4all.nl, ik lees het", "Stuur naar [e-mail], ik lees het"),
        ("Mail: piet [at] gemeente [punt] nl", "Mail: [e-mail]"),
        ("piet(at)gemeente.nl", "[e-mail]"),
        ("JAN@VOORBEELD.NL graag", "[e-mail] graag"),
    ],
)
def test_email_addresses(text: str, expected: str) -> None:
    assert _only(text, "e-mail") == expected


def test_email_is_not_also_a_mention() -> None:
    result = scrub("Mail wijkteam@utrecht.nl of tag @wijkteam")
    assert result.text == "Mail [e-mail] of tag [gebruiker]"
    assert result.counts == Counter({"e-mail": 1, "gebruiker": 1})


@pytest.mark.parametrize("text", ["Wat een zooi @ de Neude", "Prijs 3 @ 2 euro", "foo@bar zonder domein"])
def test_no_email_without_a_domain(text: str) -> None:
    assert "[e-mail]" not in scrub(text).text


# --- phone numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number",
    [
        "06-12345678",
        "06 1234 5678",
        "0612345678",
        "06 12 34 56 78",
        "06 - 12345678",
        "06.12345678",
        "+31 6 12345678",
        "+31612345678",
        "+31 (0)6 12345678",
        "+31 (0)6-1234 5678",
        "0031 6 12345678",
        "0031612345678",
        "030-1234567",
        "030 123 4567",
        "020 123 45 67",
        "0488-123456",
        "0488 12 34 56",
        "(030) 123 45 67",
        "(06) 12345678",
        "030/1234567",
        "+31 30 123 4567",
        "+32 470 12 34 56",
    ],
)
def test_dutch_phone_numbers(number: str) -> None:
    assert _only(f"Bel {number} na 17 uur.", "telefoon") == "Bel [telefoon] na 17 uur."


@pytest.mark.parametrize(
    "text",
    [
        "In 2026 gaat de OZB omhoog.",
        "De raad vergadert op 12-11-2026 om 19.30 uur.",
        "Op 01-11-2026 10:30 begint het.",
        "Op 06-11-2026 10 uur sluit de inschrijving.",
        "Om 06:30 rijdt de eerste bus, om 08.15 de tweede.",
        "Het kost € 1.250.000 en de gemeente betaalt 0,5% rente.",
        "De begroting is 125.000.000 euro.",
        "Postcode 3511 AB ligt in de binnenstad.",
        "Bel de gemeente op 14 030.",
        "Het aantal steeg van 1.024 naar 2.048 in 10 jaar.",
        "Lijn 12 en lijn 28 rijden om de 10 minuten.",
        "ISBN 978-90-1234-567-8",
        "Versie 0.12.3 van de app",
    ],
)
def test_no_phone_numbers_in_years_dates_times_and_amounts(text: str) -> None:
    _untouched(text)


def test_phone_does_not_swallow_a_following_number() -> None:
    assert scrub("Bel 0612345678 12 keer").text == "Bel [telefoon] 12 keer"


# --- IBAN -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "iban",
    [
        "NL91ABNA0417164300",
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
        "NL02RABO0123456789",
        "NL20INGB0001234567",
        "NL91ABNA0417164301",  # a typo (bad check digits): the Dutch shape alone is enough
        "BE68 5390 0754 7034",
        "DE89 3704 0044 0532 0130 00",
        "DE89370400440532013000",
        "GB29 NWBK 6016 1331 9268 19",
        "FR14 2004 1010 0505 0001 3M02 606",
    ],
)
def test_ibans(iban: str) -> None:
    assert _only(f"Maak over naar {iban} t.n.v. de club", "iban") == "Maak over naar [iban] t.n.v. de club"


def test_iban_comes_before_phone_and_bsn() -> None:
    # "0417 1643 00" alone would read as a landline number
    assert scrub("NL91 ABNA 0417 1643 00").counts == Counter({"iban": 1})


def test_iban_shape_needs_a_known_country_and_its_exact_length() -> None:
    assert _only("Code DE89 3704 0044 0532 0130 01", "iban") == "Code [iban]"  # mistyped, still personal
    _untouched("Het is DE12ABC, geen rekening")
    _untouched("Kenteken XX12 ABCD 1234 5678 9012")  # no such country
    _untouched("BE68 5390 0754 703")  # one character short


# --- BSN --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("digits", "valid"), [("123456782", True), ("111222333", True), ("123456789", False)]
)
def test_elfproef(digits: str, valid: bool) -> None:
    assert elfproef(digits) is valid


def test_elfproef_edge_cases() -> None:
    assert elfproef("12345672")  # eight digits read with a leading zero: 012345672
    assert not elfproef("000000000")
    assert not elfproef("12345")
    assert not elfproef("१२३४५६७८२")  # Devanagari digits are no BSN


@pytest.mark.parametrize(
    "bsn", ["123456782", "123.456.782", "123 456 782", "1234.56.782", "111222333", "012345672"]
)
def test_bsn_that_passes_the_elfproef(bsn: str) -> None:
    assert _only(f"Mijn nummer is {bsn}, klopt dat?", "bsn") == "Mijn nummer is [bsn], klopt dat?"


@pytest.mark.parametrize(
    "text",
    [
        "Dossier 123456789 is gesloten.",  # fails the elfproef
        "Het project kost € 123.456.782.",  # an amount
        "Het project kost 123.456.782 euro.",
        "Inwoners: 12345678",  # eight digits without a label
        "Ordernummer 1234567820",  # ten digits
    ],
)
def test_numbers_that_are_no_bsn(text: str) -> None:
    _untouched(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mijn BSN is 123456789", "mijn BSN is [bsn]"),  # labelled: a typo is still a BSN
        ("BSN-nummer: 12345672", "BSN-nummer: [bsn]"),
        ("burgerservicenummer 123.456.782", "burgerservicenummer [bsn]"),
    ],
)
def test_labelled_bsn(text: str, expected: str) -> None:
    assert _only(text, "bsn") == expected


# --- addresses --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ik woon op Oudegracht 12a.", "Ik woon op [adres]."),
        ("Ik woon op de Biltstraat 4-bis", "Ik woon op de [adres]"),
        ("Amsterdamsestraatweg 120 heeft last van geluid", "[adres] heeft last van geluid"),
        ("Kom naar de Lange Nieuwstraat 12 A!", "Kom naar de Lange [adres]!"),
        ("De Oude Gracht 3 is gesloopt", "De Oude [adres] is gesloopt"),
        ("Adres:\nOude Gracht 3", "Adres:\nOude [adres]"),
        ("Croeselaan 12-3, Utrecht", "[adres], Utrecht"),
        ("Maliebaan 45 hs", "[adres]"),
        ("Janskerkhof 3, Domplein 29 en Vredenburg 40", "[adres], [adres] en [adres]"),
        ("ik woon op de biltstraat 4", "ik woon op de [adres]"),
        ("Biltstraat nr. 12", "[adres]"),
        ("Wilhelminapark 12 II", "[adres]"),
        ("Laan van Nieuw Oost-Indië 12 is verkocht", "[adres] is verkocht"),
        ("Weg der Verenigde Naties 1", "[adres]"),
    ],
)
def test_street_with_house_number(text: str, expected: str) -> None:
    result = scrub(text)
    assert result.text == expected
    assert set(result.counts) == {"adres"}


@pytest.mark.parametrize(
    "text",
    [
        "De Amsterdamsestraatweg is altijd druk.",
        "Wanneer gaat de Oudegracht weer open?",
        "Lijn 12 rijdt niet meer, bus 8 ook niet.",
        "Volgens artikel 3 van de verordening mag dat.",
        "Motie in de 2e kamer aangenomen.",
        "De vergadering 12 maart gaat door.",
        "Aflevering 3 van de podcast gaat over parkeren.",
        "We waren onderweg 2 uur kwijt.",
        "Woningmarkt 2026: prijzen stijgen weer.",
        "Op het Domplein 12 uur lang feest.",
        "Op het Domplein 5 mei is het bevrijdingsfeest.",
        "Aan de Kanaalweg 40 woningen erbij.",
        "Ajax wint in Amsterdam 1-0.",
        "De speeltuin op veld 3 is dicht.",
        "De ring 10 staat vast.",
        "De Biltstraat kreeg 4,5 miljoen voor nieuwe bomen.",
        "Op de Biltstraat 40% minder verkeer.",
        "Postcode 3511 AB en 3512 CD horen bij de binnenstad.",
        "Wonen in 3511 AB Utrecht",
    ],
)
def test_streets_without_house_number_and_other_numbers_stay(text: str) -> None:
    _untouched(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Adres: 3511 AB 12", "Adres: [adres]"),
        ("3511AB, nr 12", "[adres]"),
        ("3511 AB 12a Utrecht", "[adres] Utrecht"),
    ],
)
def test_postcode_with_house_number(text: str, expected: str) -> None:
    assert _only(text, "adres") == expected


# --- mentions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("@gemeenteutrecht wanneer?", "[gebruiker] wanneer?"),
        ("Eens met @piet_jansen.", "Eens met [gebruiker]."),
        ("Zie u/klaas030 hierboven", "Zie [gebruiker] hierboven"),
        ("Zie /u/Klaas-de-Vries hierboven", "Zie [gebruiker] hierboven"),
        ("https://www.reddit.com/u/klaas030", "https://www.reddit.com[gebruiker]"),
        ("Volg @jan@mastodon.social", "Volg [gebruiker]"),
    ],
)
def test_mentions(text: str, expected: str) -> None:
    assert _only(text, "gebruiker") == expected


@pytest.mark.parametrize("text", ["Gepost op r/utrecht en /r/Amersfoort", "Om @18.00 uur", "A/B-test"])
def test_subreddits_and_non_mentions_stay(text: str) -> None:
    _untouched(text)


# --- everything together ----------------------------------------------------------------------------

MIXED = (
    "Beste @wijkraad, mijn buurvrouw (j.devries@hotmail.com, 06-12345678) woont op de Biltstraat 12a "
    "en heeft BSN 123456782 doorgegeven; stort op NL91 ABNA 0417 1643 00. Groet, u/buurman030. "
    "Zie ook r/utrecht, de vergadering op 12-11-2026 om 19.30 uur, en € 1.250.000 voor de Biltstraat."
)


def test_counts_per_kind_in_a_mixed_post() -> None:
    result = scrub(MIXED)
    assert result.counts == Counter(
        {"gebruiker": 2, "e-mail": 1, "telefoon": 1, "adres": 1, "bsn": 1, "iban": 1}
    )
    for secret in ("wijkraad", "j.devries", "12345678", "Biltstraat 12a", "123456782", "0417", "buurman"):
        assert secret not in result.text
    for kept in ("r/utrecht", "12-11-2026", "19.30 uur", "€ 1.250.000", "voor de Biltstraat."):
        assert kept in result.text


def test_scrubbing_is_idempotent_on_examples() -> None:
    for text in (MIXED, "Bel 06-12345678", "NL91ABNA0417164300 0612345678 123456782", "@a @b u/c"):
        once = scrub(text).text
        assert scrub(once) == (once, Counter())


def test_placeholders_are_never_matched_again() -> None:
    text = " ".join(PLACEHOLDERS.values()) + " Biltstraat [adres] 12 [telefoon]"
    assert scrub(text).counts == Counter()


def test_it_is_fast_enough_for_every_post() -> None:
    """A loose guard against pathological slowness, not a benchmark (the goal is >20k posts/s)."""
    import time

    posts = [MIXED, "Top geregeld weer 🙄", "Lijn 12 rijdt niet meer via de Amsterdamsestraatweg."] * 500
    start = time.perf_counter()
    for post in posts:
        scrub(post)
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize(
    "text",
    [
        "a" * 100_000 + "@",
        "@" * 50_000,
        "1" * 100_000,
        "1 " * 50_000,
        ("0" + " " * 3) * 20_000,
        "Biltstraat " * 20_000 + "1",
        "x@" + "b." * 30_000,
        "NL91" * 20_000,
    ],
)
def test_no_catastrophic_backtracking(text: str) -> None:
    import time

    start = time.perf_counter()
    scrub(text)
    assert time.perf_counter() - start < 2.0


# --- properties -------------------------------------------------------------------------------------

_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(st.one_of(st.text(), st.text(st.characters(codec=None, exclude_categories=()))))
@example("\ud800@x.nl")
@example("\x00\u202e06-12345678\u200b")
def test_never_raises_and_is_idempotent(text: str) -> None:
    result = scrub(text)
    assert isinstance(result.text, str)
    assert all(kind in PLACEHOLDERS for kind in result.counts)
    assert scrub(result.text) == (result.text, Counter())


# Text made of the pieces that PII patterns are built from, so that near-misses and odd neighbours
# (a number glued to a placeholder, a street name next to a date) come up often.
_PIECES = st.sampled_from(
    [
        " ", "  ", "-", ".", ",", "/", "(", ")", "+", "@", "u/", "r/", "€", ":", "\n", "[", "]",
        "0", "06", "12", "31", "0031", "030", "2026", "3511", "AB", "nr", "bsn", "NL91", "ABNA",
        "0417164300", "12345678", "123456782", "Biltstraat", "Oude", "Gracht", "lijn", "a", "A", "bis",
        "jan", ".nl", "uur", "euro", "[adres]", "[telefoon]", "reddit.com", "Laan", "van", "Noord",
    ]
)  # fmt: skip


@_SETTINGS
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_idempotent_on_pii_like_text(text: str) -> None:
    once = scrub(text).text
    assert scrub(once) == (once, Counter())


def _iban_nl(bank: str, account: str) -> str:
    body = bank + account + "NL00"
    check = 98 - int("".join(str(int(c, 36)) for c in body)) % 97
    return f"NL{check:02d}{bank}{account}"


_NL_IBANS = st.builds(
    _iban_nl,
    st.text(string.ascii_uppercase, min_size=4, max_size=4),
    st.text(string.digits, min_size=10, max_size=10),
)


def _grouped(iban: str) -> str:
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


_EMAILS = st.builds(
    "{}@{}.{}".format,
    st.from_regex(r"[a-z0-9]([a-z0-9._+-]{0,15}[a-z0-9])?", fullmatch=True),
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True),
    st.sampled_from(["nl", "com", "org", "eu", "frl", "amsterdam"]),
)
_MOBILE_DIGITS = st.text(string.digits, min_size=8, max_size=8)
_PHONES = st.one_of(
    _MOBILE_DIGITS.map(lambda d: f"06{d}"),
    _MOBILE_DIGITS.map(lambda d: f"06-{d}"),
    _MOBILE_DIGITS.map(lambda d: f"06 {d[:4]} {d[4:]}"),
    _MOBILE_DIGITS.map(lambda d: f"+31 6 {d}"),
    _MOBILE_DIGITS.map(lambda d: f"+31 (0)6 {d}"),
    _MOBILE_DIGITS.map(lambda d: f"0031 6 {d}"),
    st.text(string.digits, min_size=7, max_size=7).map(lambda d: f"030-{d}"),
    st.text(string.digits, min_size=7, max_size=7).map(lambda d: f"020 {d[:3]} {d[3:]}"),
    st.text(string.digits, min_size=6, max_size=6).map(lambda d: f"0488-{d}"),
)
_PII = st.one_of(
    _EMAILS.map(lambda e: ("e-mail", e)),
    _NL_IBANS.map(lambda i: ("iban", i)),
    _NL_IBANS.map(lambda i: ("iban", _grouped(i))),
    _PHONES.map(lambda p: ("telefoon", p)),
)


@_SETTINGS
@given(st.text(), _PII, st.text())
def test_embedded_pii_never_survives(before: str, pii: tuple[str, str], after: str) -> None:
    kind, value = pii
    result = scrub(f"{before} {value} {after}")
    assert value not in result.text
    assert result.counts[kind] >= 1


def test_random_dutch_posts_keep_their_words() -> None:
    """Scrubbing never touches ordinary words: every word without digits or '@' survives."""
    rng = random.Random(7)
    words = (
        "de",
        "het",
        "een",
        "gemeente",
        "raad",
        "parkeren",
        "bomen",
        "straat",
        "weg",
        "plein",
        "wijk",
        "goed",
    )
    for _ in range(200):
        text = " ".join(rng.choice(words) for _ in range(12))
        assert scrub(text).text == text
