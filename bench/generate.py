"""A generator of realistic Dutch municipal-policy posts for benchmarks (written by this project).

Posts mix a topic sentence, an opinion, sometimes a negation, a second topic, an address to the
municipality, social-media noise (emoji, links, stretched letters) and filler, so that their length
(10 to 150 words, median about 35) and topic mix resemble what the nightly job sees.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

SUBJECTS = {
    "wonen": [
        "de nieuwe woontoren bij het station",
        "de huurprijzen in de wijk",
        "het bouwplan voor starterswoningen",
        "de wachtlijst voor een sociale huurwoning",
        "de nieuwbouw aan de rand van het dorp",
    ],
    "verkeer_parkeren": [
        "de nieuwe parkeervergunning",
        "betaald parkeren in de binnenstad",
        "de drempels in onze straat",
        "het sluipverkeer door de wijk",
        "de afsluiting van de rotonde",
    ],
    "fiets": [
        "de fietsenstalling bij het station",
        "het nieuwe fietspad langs het kanaal",
        "de fietsstraat",
        "de kapotte fietsnietjes",
    ],
    "openbaar_vervoer": [
        "buslijn 12",
        "de tram naar de universiteit",
        "de dienstregeling van de sprinter",
        "de bushalte bij het verzorgingshuis",
    ],
    "groen_openbare_ruimte": [
        "het park achter de school",
        "de bomenkap langs de singel",
        "het plantsoen op de hoek",
        "de stoeptegels in de Dorpsstraat",
    ],
    "spelen": [
        "de speeltuin in de wijk",
        "de nieuwe speeltoestellen",
        "het trapveldje",
        "de schommels bij de school",
    ],
    "afval": [
        "de ondergrondse containers",
        "het grofvuil op straat",
        "de nieuwe kliko's",
        "het zwerfafval in het park",
    ],
    "energie_klimaat": [
        "de windturbines langs de snelweg",
        "het zonnepark op de akker",
        "het warmtenet",
        "de isolatiesubsidie",
    ],
    "veiligheid_overlast": [
        "het vuurwerk in de wijk",
        "de hangjongeren bij de supermarkt",
        "de inbraken",
        "de drugsoverlast bij het station",
    ],
    "zorg_welzijn": [
        "de wachttijd bij het wijkteam",
        "het tekort aan huisartsen",
        "de dagbesteding voor ouderen",
        "de voedselbank",
    ],
    "jeugd_onderwijs": ["de nieuwe basisschool", "de kinderopvang", "het jongerencentrum", "de schoolroute"],
    "sport_cultuur": ["het zwembad", "de bibliotheek", "de sporthal", "het poppodium"],
    "economie_winkels": ["de leegstand in het centrum", "de weekmarkt", "de terrassen op het plein"],
    "evenementen": ["de kermis", "het festival in het park", "de intocht van Sinterklaas", "Koningsdag"],
    "bestuur_participatie": [
        "de inspraakavond",
        "de raadsvergadering van dinsdag",
        "de petitie",
        "het participatietraject",
    ],
    "lokale_belastingen": [
        "de OZB-verhoging",
        "de afvalstoffenheffing",
        "de hondenbelasting",
        "de rioolheffing",
    ],
    "asiel_opvang": ["het nieuwe azc", "de noodopvang in de sporthal", "de opvang van statushouders"],
}
OPINIONS_NEG = [
    "is echt belachelijk",
    "is een puinhoop",
    "wordt steeds erger",
    "is veel te duur",
    "is slecht geregeld",
    "zorgt voor veel ergernis",
    "is gewoon onveilig",
]
OPINIONS_POS = [
    "is echt een verbetering",
    "is prachtig geworden",
    "werkt prima",
    "is netjes geregeld",
    "is een goed plan",
    "maakt de buurt mooier",
]
OPINIONS_NEU = [
    "staat op de agenda",
    "wordt volgende maand besproken",
    "komt er volgend jaar",
    "is nog niet besloten",
]
ADDRESSES = [
    "Goed dat de gemeente luistert.",
    "Ze luisteren toch niet.",
    "De gemeente doet maar wat.",
    "Wie weet meer?",
    "Ik ben benieuwd wat de raad ervan vindt.",
    "Bedankt aan het wijkteam!",
]
FILLERS = [
    "Ik woon hier nu twaalf jaar en zie het langzaam veranderen.",
    "Mijn buren denken er net zo over.",
    "Gisteren liep ik er nog langs met de hond.",
    "Vorig jaar was het ook al zo.",
    "Op de website van de gemeente staat er weinig over.",
    "Mijn kinderen vragen er elke dag naar.",
    "Ik heb er een mail over gestuurd maar nog niets gehoord.",
    "In het buurtcafé ging het nergens anders over.",
]
NOISE = ["😡", "👍", "🙄", "😍", "https://example.org/nieuws/123", "!!!", "superrr", "gwn", "idd"]


def generate(n: int, seed: int = 0) -> Iterator[str]:
    """``n`` posts, reproducible for a seed."""
    rng = random.Random(seed)
    topics = list(SUBJECTS)
    weights = [3 if t in ("wonen", "verkeer_parkeren", "veiligheid_overlast") else 1 for t in topics]
    for _ in range(n):
        topic = rng.choices(topics, weights)[0]
        mood = rng.random()
        opinion = rng.choice(OPINIONS_NEG if mood < 0.45 else OPINIONS_POS if mood < 0.75 else OPINIONS_NEU)
        parts = [f"{rng.choice(SUBJECTS[topic]).capitalize()} {opinion}."]
        if rng.random() < 0.2:
            parts.append("Ik vind het niet " + rng.choice(["leuk", "slecht", "normaal", "eerlijk"]) + ".")
        if rng.random() < 0.3:
            other = rng.choice(topics)
            parts.append(f"En dan hebben we het nog niet over {rng.choice(SUBJECTS[other])}.")
        parts.extend(rng.choice(FILLERS) for _ in range(rng.choice([0, 0, 1, 1, 2, 3, 5, 8])))
        if rng.random() < 0.5:
            parts.append(rng.choice(ADDRESSES))
        if rng.random() < 0.3:
            parts.append(rng.choice(NOISE))
        yield " ".join(parts)
