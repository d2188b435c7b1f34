"""Language identification on short texts: Dutch headlines and replies are Dutch, English, German
and French posts are not.

``tests/data/language_samples.csv`` was written for these tests by the project: short Dutch texts in
the style of headlines, subtitles and replies, and English, German and French posts, headlines and
replies of one to twenty words. Set ``rules`` was at hand while the rules were chosen; set
``held_out`` was written afterwards and changed none of them.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from nlp.data import load_yaml
from nlp.language import FUNCTION_WORDS, decide, identify, token_counts
from tests import DATA, fresh_python


def _samples() -> list[dict[str, str]]:
    with (DATA / "language_samples.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def labelled(enricher) -> list[tuple[dict[str, str], str]]:
    rows = _samples()
    return list(zip(rows, [r.language for r in enricher.enrich([row["text"] for row in rows])], strict=True))


def test_language_short_dutch_texts_are_dutch(labelled) -> None:
    """Headlines and one-line replies have few function words; their words are Dutch all the same.
    (Before the full Dutch vocabulary, 14 of these 61 were undetermined.)"""
    dutch = [language for row, language in labelled if row["language"] == "nl"]
    assert len(dutch) == 61
    assert Counter(dutch)["nl"] >= 0.9 * len(dutch)


def test_language_english_german_and_french_posts_stay_out(labelled) -> None:
    """Only Dutch posts count for the estimates. Of the texts of five words or more in another
    language only an English headline in title case whose words are also Dutch words ("Budget",
    "Hit", "Local") is taken as Dutch; of the shorter ones ("Wow", "Salut", "Prost!") at most one in
    eight is, whose words are Dutch words too. (Before, 28 of these 300 were taken as Dutch, 18 of
    them of five words or more, such as German and French sentences full of "die", "de" and "en".)"""
    foreign = [(row, language) for row, language in labelled if row["language"] != "nl"]
    assert len(foreign) == 300
    sentences = [(row["text"], language) for row, language in foreign if len(row["text"].split()) >= 5]
    assert len(sentences) > 100
    assert [text for text, language in sentences if language == "nl"] == ["Budget Cuts Hit Local Schools"]
    short = [language for row, language in foreign if len(row["text"].split()) < 5]
    assert Counter(short)["nl"] <= len(short) / 8
    for name in ("rules", "held_out"):
        in_set = [language for row, language in foreign if row["set"] == name]
        assert Counter(in_set)["nl"] <= 0.08 * len(in_set), name


def test_language_english_sentences_are_english(labelled) -> None:
    """Headlines with a single English function word ("for", "from") stay undetermined."""
    english = [lang for row, lang in labelled if row["language"] == "en" and len(row["text"].split()) >= 6]
    assert len(english) > 30
    assert Counter(english)["en"] >= 0.9 * len(english) and "nl" not in english


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("-Ja.", "nl"),  # a subtitle's dash stays on the word's token
        ("Fed-besluit valt tegen", "nl"),  # each letter run of a token is looked up
        ("Dank je wel", "nl"),  # "dank" is a German stop word and an ordinary Dutch word
        ("Tot morgen!", "nl"),
        ("Ziekenhuisfusie definitief", "nl"),  # a compound of two Dutch words
        ("Die Kinder spielen im Park und die Eltern warten am Eingang.", "und"),
        ("Le tram était encore en retard et personne ne nous a rien dit.", "und"),
        ("The bus was late again and nobody told us why.", "en"),
    ],
)
def test_language_of_texts_that_used_to_go_wrong(enricher, text: str, language: str) -> None:
    assert next(iter(enricher.enrich([text]))).language == language


def test_language_identify_counts_function_words_and_the_vocabulary() -> None:
    assert identify(["de", "gemeente", "heeft", "het", "plan", "niet"]) == "nl"
    assert identify(["the", "council", "has", "not", "seen", "it"]) == "en"
    assert identify(["der", "rat", "hat", "es", "nicht", "gesehen"]) == "und"
    # no function word decides: the vocabulary does
    assert identify(["flinke", "groei"]) == "und"
    assert identify(["flinke", "groei"], {"flinke", "groei"}.__contains__) == "nl"
    assert identify(["flinke", "growth", "figures"], {"flinke"}.__contains__) == "und"
    # a token with marks is one word with the votes of its letter runs
    assert token_counts("zzp'er") == [1, 0, 1, 0, 1, 0]  # "er" is a Dutch and a German function word
    assert token_counts("auto's", {"auto"}.__contains__) == [1, 1, 0, 0, 0, 0]
    assert token_counts("...") == [0, 0, 0, 0, 0, 0]
    assert decide([3, 2, 0, 0], 0, 10) == "nl" and decide([3, 4, 0, 0], 0, 10) == "und"
    assert decide([0, 0, 3, 0], 5, 5) == "und"  # German votes outweigh a Dutch-looking vocabulary


def test_language_words_that_are_not_foreign_are_dutch_and_in_the_foreign_list(enricher) -> None:
    """Each entry of `not_foreign` must do something: a stop word of its language, a Dutch word (or
    "ca." and the interjections "eh", "ha" and "hé", which the vocabulary lacks)."""
    from spacy.lang.de.stop_words import STOP_WORDS as DE
    from spacy.lang.en.stop_words import STOP_WORDS as EN
    from spacy.lang.fr.stop_words import STOP_WORDS as FR

    lists = {"en": EN, "de": DE, "fr": FR}
    for lang, words in load_yaml("language.yaml")["not_foreign"].items():
        for word in words:
            assert word in lists[lang] and word not in FUNCTION_WORDS[lang], (lang, word)
            assert enricher.is_dutch_word(word) or word in {"ca", "eh", "ha", "hé"}, (lang, word)


@pytest.mark.slow
def test_the_stop_words_are_spacys_without_importing_its_french_tokenizer() -> None:
    """The foreign stop words are read from spaCy's stop-word modules alone: importing spacy.lang.fr
    compiles a regular expression for seconds. A fresh process, as a worker loads the enricher."""
    script = (
        "import sys\n"
        "from nlp.pipeline import get_enricher\n"
        "from nlp._spacy import DE_STOP_WORDS, EN_STOP_WORDS, FR_STOP_WORDS\n"
        "get_enricher()\n"
        "loaded = 'spacy.lang.fr' in sys.modules\n"
        "from spacy.lang.de.stop_words import STOP_WORDS as DE\n"
        "from spacy.lang.en.stop_words import STOP_WORDS as EN\n"
        "from spacy.lang.fr.stop_words import STOP_WORDS as FR\n"
        "print(loaded, DE == DE_STOP_WORDS, EN == EN_STOP_WORDS, FR == FR_STOP_WORDS, len(FR) > 100)\n"
    )
    assert fresh_python(script).strip() == "False True True True True"


def test_a_tokens_packed_language_counts_are_its_token_counts(enricher) -> None:
    """The enricher packs a word of letters without building its count list: the same counts."""
    from nlp.pipeline import _unpack_language

    tokens = ["de", "het", "the", "und", "les", "gemeente", "ziekenhuisfusie", "qwrtzp", "é", "auto's"]
    tokens += ["fed-besluit", "2024", "!", "zzp'er", "-ja", "über"]
    for token in tokens:
        assert _unpack_language(enricher._language_counts(token)) == token_counts(
            token, enricher.is_dutch_word
        )
