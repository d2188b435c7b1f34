import pytest

from nlp.language import identify
from nlp.normalise import fold_repeats, is_shouting, normalise


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
