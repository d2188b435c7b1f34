"""Topics on policy language: formal, national and Belgian vocabulary, plurals, look-alike words and
the calibrated score (nlp/topics.py, nlp/data/topics.yaml)."""

from __future__ import annotations

import pytest

from nlp.topics import MAIN_TOPIC_SCORE, TopicMatcher, singulars, topic_score


def _topics(enricher, text: str) -> dict[str, tuple[str, ...]]:
    (result,) = enricher.enrich([text])
    assert result.language == "nl"
    return {hit.id: hit.evidence for hit in result.topics}


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("De omgevingsvergunning voor de aanbouw is eindelijk verleend.", "bestuur_participatie"),
        ("Het schepencollege keurt het nieuwe plan voor de markt goed.", "bestuur_participatie"),
        ("Volgens het stadsbestuur komt er in het voorjaar een bevraging.", "bestuur_participatie"),
        ("Het OCMW helpt mensen die met hun rekeningen niet rondkomen.", "zorg_welzijn"),
        ("Zij leeft al twee jaar van een leefloon.", "werk_inkomen"),
        ("De aanvraag voor een Wmo-voorziening duurde vier maanden.", "zorg_welzijn"),
        ("Onder de participatiewet moet hij nu vrijwilligerswerk doen.", "werk_inkomen"),
        ("Er komt een nieuwe fietsweg naast de steenweg.", "fiets"),
        ("De wethouders willen meer huurwoningen in het centrum.", "wonen"),
        ("De ziekenhuizen in de regio hebben lange wachttijden.", "zorg_welzijn"),
        ("De gemeentetaks stijgt volgend jaar met drie procent.", "lokale_belastingen"),
        ("Er is ophef over een GAS-boete voor het voederen van duiven.", "veiligheid_overlast"),
        ("De coalitiepartners zijn het oneens over de miljoenennota.", "bestuur_participatie"),
        ("De Vlaamse regering keurt het decreet goed.", "bestuur_participatie"),
        ("Het planbureau verwacht hogere consumentenprijzen.", "economie_winkels"),
        ("De vakbonden kondigen een staking aan in de metaalsector.", "werk_inkomen"),
        ("Wie deeltijds werkt, bouwt minder pensioen op.", "werk_inkomen"),
        ("De projectontwikkelaar wacht op de vastgoedmarkt.", "wonen"),
        ("Het aantal coronapatiënten in de regio daalt.", "zorg_welzijn"),
        ("De netbeheerder legt een nieuwe hoogspanningsverbinding aan.", "energie_klimaat"),
    ],
)
def test_topics_cover_formal_national_and_belgian_policy_words(enricher, text: str, topic: str) -> None:
    assert topic in _topics(enricher, text)


def test_topics_a_plural_and_its_singular_are_one_word(enricher) -> None:
    """Form and lemma of one token, and a plural beside its singular, count once for the score."""
    assert _topics(enricher, "De woningen zijn duur.")["wonen"] == ("woning",)
    assert _topics(enricher, "Een woning, of twee woningen, maakt niet uit.")["wonen"] == ("woning",)
    assert _topics(enricher, "Alle wethouders waren er, ook de wethouder van sport.")[
        "bestuur_participatie"
    ] == ("wethouder",)


@pytest.mark.parametrize(
    "text",
    [
        "Ik maak me zorgen over mijn buren.",
        "We moeten dit zorgvuldig bekijken.",
        "Hij wil tien kilo afvallen voor de zomer.",
        "De opheffing van de club is een feit.",
        "Het ondernemingsklimaat is hier prima.",
        "Dat is natuurlijk niet de bedoeling.",
    ],
)
def test_topics_words_that_only_look_like_topic_words_are_no_evidence(enricher, text: str) -> None:
    assert _topics(enricher, text) == {}


def test_topics_a_compound_that_is_a_word_of_its_own_is_not_its_parts(enricher) -> None:
    """'wateroverlast' is about water in the public space, not about nuisance; 'sportschool' is no school."""
    assert "veiligheid_overlast" not in _topics(enricher, "Na de bui was er weer wateroverlast in de straat.")
    assert set(_topics(enricher, "De sportschool in het centrum gaat dicht.")) == {"sport_cultuur"}


def test_topics_a_weak_word_alone_names_the_topic_of_a_headline_only(enricher) -> None:
    """In a headline a weak word alone is the topic; in a longer post it is a passing mention, and
    beside a stronger topic it stays one."""
    assert set(_topics(enricher, "Weer minder subsidie")) == {"bestuur_participatie"}
    post = (
        "Gisteren met de auto naar mijn zus gereden, daarna samen een lange wandeling gemaakt "
        "en 's avonds gezellig gegeten."
    )
    assert _topics(enricher, post) == {}
    assert set(_topics(enricher, "Minder subsidie voor het zwembad")) == {"sport_cultuur"}


def test_singulars_of_dutch_plurals() -> None:
    assert singulars("scholen")[0] == "school"
    assert singulars("banen")[0] == "baan"
    assert singulars("bussen")[0] == "bus"
    assert "ziekenhuis" in singulars("ziekenhuizen")
    assert singulars("auto's") == ("auto",)
    assert singulars("fietsers") == ("fietser",)
    assert singulars("bus") == ()  # never shorter than three letters


def test_topic_score_is_a_probability_that_grows_with_evidence() -> None:
    """More words for a topic, a larger share of the text's topic words and a shorter text all make
    a topic more likely; every score is a probability strictly between 0 and 1."""
    assert topic_score(1, 1.0, 10) < topic_score(2, 1.0, 10) < topic_score(6, 1.0, 10) < 1.0
    assert topic_score(1, 0.25, 10) < topic_score(1, 1.0, 10)
    assert topic_score(1, 1.0, 400) < topic_score(1, 1.0, 10)
    assert 0.0 < topic_score(1, 0.05, 5000) < 0.5


def test_main_topic_score_tells_a_headline_topic_from_a_passing_mention(enricher) -> None:
    """Two words of one topic in a headline reach the report's bar; one word beside another topic in
    an article does not."""
    (headline,) = enricher.enrich(["Gemeenteraad stemt in met nieuw bestemmingsplan"])
    assert headline.topics[0].id == "bestuur_participatie"
    assert headline.topics[0].score >= MAIN_TOPIC_SCORE
    article = (
        "De tram rijdt vanaf maandag een andere route door de stad, omdat de rails bij de brug "
        "worden vervangen. Reizigers moeten rekening houden met tien minuten extra reistijd, ook "
        "in het weekend, en de haltes aan de singel vervallen tot de zomer. Langs het park komt "
        "een tijdelijke halte."
    )
    (result,) = enricher.enrich([article])
    hits = {h.id: h for h in result.topics}
    assert hits["openbaar_vervoer"].score >= MAIN_TOPIC_SCORE
    assert hits["groen_openbare_ruimte"].score < MAIN_TOPIC_SCORE
    assert result.topics[0].id == "openbaar_vervoer"


def test_topic_matcher_loads_every_list_it_documents() -> None:
    """Every weak and except word is lower case, and no except word is a lemma of the list (it would
    never fire)."""
    matcher = TopicMatcher()
    assert all(w == w.lower() for w in matcher.weak)
    assert not matcher._except & set(matcher._by_lemma)


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Meer geld voor het (openbaar vervoer) in de regio.", "openbaar_vervoer"),
        ("Het “college van B en W” zegt nee.", "bestuur_participatie"),
        ("Ze staat al jaren op de lijst voor een sociale huurwoning.", "wonen"),
        ("Hij is al een jaar werk zoeken, zonder succes.", "werk_inkomen"),
    ],
)
def test_topics_phrases_are_found_next_to_punctuation(enricher, text: str, topic: str) -> None:
    """Phrases are looked for only in texts with a word that starts one, punctuation stripped."""
    assert topic in _topics(enricher, text)


def test_the_quick_check_that_rules_words_out_keeps_every_word_of_the_list() -> None:
    """Most words are ruled out by one automaton pass before any stem scan; no word of the list,
    none of their plurals and no compound around a long stem may be ruled out with them."""
    matcher = TopicMatcher()
    lemmas = list(matcher._by_lemma)
    plurals = [w + "'s" for w in lemmas] + [w + "en" for w in lemmas]
    plurals += [w + "s" for w in lemmas if not w.endswith("s")]
    words = lemmas + [w for w in plurals if len(w) > 4]  # no singular is shorter than 3 letters
    words += ["zij" + stem + "plan" for stem in matcher._stems if len(stem) >= 7]
    missed = [w for w in words if w not in matcher._except and not matcher.word_hits(w)]
    assert not missed, missed[:10]
    # and the words that can match nothing are many: the check rules them out
    assert not matcher.word_hits("gisteren") and not matcher.word_hits("fantastisch")
