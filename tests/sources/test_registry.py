"""The registry of live platforms (sources/registry.py) and what a configuration builds through it."""

from datetime import UTC, datetime
from typing import get_type_hints

import pytest

from flows.config import parse_settings
from flows.wiring import gazetteer_for, live_sources
from sources.pseudonym import Pseudonymiser
from sources.reddit import ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT, RedditCollectOptions, RedditSource
from sources.reddit_feeds import RedditFeedSource
from sources.registry import SOURCES, author_name, channels
from sources.rss import RssSource

# The note of a run without Reddit credentials; users and docs know it by this wording.
REDDIT_SKIPPED = (
    "Reddit skipped: set BETROKKEN_REDDIT_CLIENT_ID, BETROKKEN_REDDIT_CLIENT_SECRET and "
    "BETROKKEN_REDDIT_USER_AGENT (or [reddit] secret_block) to collect it; see README."
)
CONFIG = {
    "reddit": {"limit": 7, "overlap_hours": 2, "retries": 2},
    "rss": {"timeout_s": 3.5},
    "municipalities": [
        {
            "id": "utrecht",
            "name": "Utrecht",
            "cbs_code": "GM0344",
            "feeds": [
                {"name": "Domstad", "url": "https://example.org/a.rss"},
                {"name": "Stadsblad", "url": "https://example.org/b.rss"},
            ],
            "reddit": {"subreddits": ["r/Utrecht"], "search": []},
        },
        {"id": "zeist", "name": "Zeist", "cbs_code": "GM0355", "reddit": {"search": ["gemeente Zeist"]}},
        {
            "id": "elst",
            "name": "Overbetuwe",
            "cbs_code": "GM1734",
            "reddit": {"subreddits": [], "search": []},
        },
    ],
}


@pytest.fixture
def no_reddit_env(monkeypatch) -> None:
    for var in (ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT):
        monkeypatch.delenv(var, raising=False)


def test_without_reddit_credentials_the_feeds_are_built_and_reddit_is_noted_once(
    no_reddit_env, pseudonymiser: Pseudonymiser
) -> None:
    notes: list[str] = []
    sources = live_sources(parse_settings(CONFIG, "test"), pseudonymiser, notes)
    assert notes == [REDDIT_SKIPPED]
    assert [s.key for s in sources] == ["rss:utrecht:Domstad", "rss:utrecht:Stadsblad"]
    assert all(isinstance(s, RssSource) and s.timeout_s == 3.5 for s in sources)
    assert sources[0].url == "https://example.org/a.rss"


def test_with_reddit_credentials_each_municipality_that_names_a_listing_gets_a_reddit_source(
    monkeypatch, pseudonymiser: Pseudonymiser
) -> None:
    for var, value in ((ENV_CLIENT_ID, "id"), (ENV_SECRET, "secret"), (ENV_USER_AGENT, "agent")):
        monkeypatch.setenv(var, value)
    notes: list[str] = []
    sources = live_sources(parse_settings(CONFIG, "test"), pseudonymiser, notes)
    assert notes == []
    # per municipality, in the registry's order; Overbetuwe names no listing, so has no source
    assert [s.key for s in sources] == [
        "rss:utrecht:Domstad",
        "rss:utrecht:Stadsblad",
        "reddit:utrecht",
        "reddit:zeist",
    ]
    utrecht, zeist = sources[2], sources[3]
    assert isinstance(utrecht, RedditSource) and utrecht.subreddits == ["Utrecht"] and utrecht.search == []
    assert zeist.search == ["gemeente Zeist"]
    defaults = RedditCollectOptions()
    assert utrecht.options == RedditCollectOptions(
        limit=7,
        comment_depth=defaults.comment_depth,
        more_comments=defaults.more_comments,
        overlap_s=2 * 3600,
        retries=2,
        backoff_s=defaults.backoff_s,
    )


def test_no_credentials_are_looked_for_when_no_municipality_wants_the_platform(
    no_reddit_env, pseudonymiser: Pseudonymiser
) -> None:
    only_feeds = {**CONFIG, "municipalities": [{**CONFIG["municipalities"][0], "reddit": None}]}
    notes: list[str] = []
    assert len(live_sources(parse_settings(only_feeds, "test"), pseudonymiser, notes)) == 2
    assert notes == []


def test_the_gazetteer_knows_the_channels_of_every_platform() -> None:
    gazetteer = gazetteer_for(parse_settings(CONFIG, "test"))
    assert gazetteer.resolve("Wie weet een kapper?", "r/utrecht") == ("utrecht", "channel")
    assert gazetteer.resolve("Wie weet een kapper?", "Stadsblad") == ("utrecht", "channel")
    assert gazetteer.resolve("Wie weet een kapper?", "r/zeist") == (None, "none")  # a search is no channel


def test_every_platform_keeps_a_typed_state_that_may_start_empty() -> None:
    for platform in SOURCES.values():
        hints = get_type_hints(platform.state)
        assert hints, platform.name
        assert platform.state.__required_keys__ == frozenset(), platform.name  # {} before the first run
        assert (platform.credentials is None) == (platform.absent_note == ""), platform.name


def _feeds_mode(config: dict, *ids: str) -> dict:
    """The config with mode = "feeds" for the municipalities ``ids``."""
    return {
        **config,
        "municipalities": [
            {**m, "reddit": {**m["reddit"], "mode": "feeds"}} if m["id"] in ids else m
            for m in config["municipalities"]
        ],
    }


def test_feeds_mode_needs_no_credentials_and_is_not_noted_as_skipped(
    no_reddit_env, pseudonymiser: Pseudonymiser
) -> None:
    notes: list[str] = []
    sources = live_sources(
        parse_settings(_feeds_mode(CONFIG, "utrecht", "zeist"), "test"), pseudonymiser, notes
    )
    assert notes == []
    assert [s.key for s in sources] == [
        "rss:utrecht:Domstad",
        "rss:utrecht:Stadsblad",
        "reddit_feeds:utrecht:r/Utrecht/new",
        "reddit_feeds:utrecht:r/Utrecht/comments",
        "reddit_feeds:zeist:search:gemeente Zeist",
    ]
    assert all(isinstance(s, RedditFeedSource) for s in sources[2:])
    assert sources[2].url == "https://www.reddit.com/r/Utrecht/new/.rss?limit=7"  # [reddit] limit = 7
    assert sources[2].options.retries == 2


def test_the_skipped_note_is_only_for_municipalities_in_api_mode(
    no_reddit_env, pseudonymiser: Pseudonymiser
) -> None:
    notes: list[str] = []
    sources = live_sources(parse_settings(_feeds_mode(CONFIG, "utrecht"), "test"), pseudonymiser, notes)
    assert notes == [REDDIT_SKIPPED]  # Zeist is in api mode and has no credentials
    assert [s.key for s in sources if s.key.startswith("reddit")] == [
        "reddit_feeds:utrecht:r/Utrecht/new",
        "reddit_feeds:utrecht:r/Utrecht/comments",
    ]


def test_with_credentials_a_feeds_mode_municipality_still_reads_the_feeds(
    monkeypatch, pseudonymiser: Pseudonymiser
) -> None:
    for var, value in ((ENV_CLIENT_ID, "id"), (ENV_SECRET, "secret"), (ENV_USER_AGENT, "agent")):
        monkeypatch.setenv(var, value)
    sources = live_sources(parse_settings(_feeds_mode(CONFIG, "utrecht"), "test"), pseudonymiser, [])
    assert [s.key for s in sources if s.key.startswith("reddit")] == [
        "reddit_feeds:utrecht:r/Utrecht/new",
        "reddit_feeds:utrecht:r/Utrecht/comments",
        "reddit:zeist",
    ]


def test_a_subreddit_is_one_channel_of_the_gazetteer_in_either_mode() -> None:
    for config in (CONFIG, _feeds_mode(CONFIG, "utrecht", "zeist")):
        plain = parse_settings(config, "test").model_dump(mode="json")["municipalities"][0]
        assert channels(plain) == ("Domstad", "Stadsblad", "r/Utrecht")
        gazetteer = gazetteer_for(parse_settings(config, "test"))
        assert gazetteer.resolve("Wie weet een kapper?", "r/utrecht") == ("utrecht", "channel")


@pytest.mark.parametrize(
    ("written", "platform", "name"),
    [
        ("Jan_Fiets", "reddit", "Jan_Fiets"),
        ("u/Jan_Fiets", "reddit", "Jan_Fiets"),
        ("/u/Jan_Fiets", "reddit", "Jan_Fiets"),
        ("https://www.reddit.com/user/Jan_Fiets/", "reddit", "Jan_Fiets"),
        ("anna@mastodon.nl", "mastodon", "anna@mastodon.nl"),
        ("@anna@Mastodon.NL", "mastodon", "anna@mastodon.nl"),
        ("https://mastodon.nl/@anna", "mastodon", "anna@mastodon.nl"),
        ("did:plc:bewoner0aaaaaaaaaaaaaa", "bluesky", "did:plc:bewoner0aaaaaaaaaaaaaa"),
        (
            "https://bsky.app/profile/did:plc:bewoner0aaaaaaaaaaaaaa",
            "bluesky",
            "did:plc:bewoner0aaaaaaaaaaaaaa",
        ),
    ],
)
def test_an_account_is_read_as_its_platform_writes_it(written: str, platform: str, name: str) -> None:
    assert author_name(written) == (platform, name)


@pytest.mark.parametrize(
    "written", ["bewoner0.bsky.social", "@bewoner0.bsky.social", "[deleted]", "", "twee woorden"]
)
def test_an_account_in_no_known_form_is_not_guessed(written: str) -> None:
    assert author_name(written) is None


def test_the_name_read_from_an_account_hashes_as_the_mapping_hashed_its_items(
    pseudonymiser: Pseudonymiser,
) -> None:
    """What a person asking for erasure has (a profile address, u/name) finds the author key that
    each platform's mapping stored, local and remote Mastodon accounts alike."""
    from sources.bluesky_mapping import map_post
    from sources.mastodon_mapping import map_status
    from sources.reddit_mapping import map_comment
    from tests.sources.test_bluesky import AUTHORS, view
    from tests.sources.test_mastodon import status

    def key(written: str) -> str | None:
        found = author_name(written)
        return pseudonymiser.author_key(found[1]) if found else None

    local, remote = status(1, "kees_fietst"), status(2, "marieke_zuilen@social.example")
    assert map_status(local, "#utrecht@mastodon.test", pseudonymiser).author_key == key(
        "https://mastodon.test/@kees_fietst"
    )
    assert map_status(remote, "#utrecht@mastodon.test", pseudonymiser).author_key == key(
        "@marieke_zuilen@social.example"
    )
    bluesky = map_post(view(1, 0, datetime(2026, 11, 1, tzinfo=UTC), "Utrecht"), pseudonymiser, "utrecht")
    assert bluesky.author_key == key(f"https://bsky.app/profile/{AUTHORS[0]['did']}")
    comment = {
        "name": "t1_c1",
        "body": "Eens",
        "author": "Jan_Fiets",
        "created_utc": 1.7e9,
        "subreddit": "utrecht",
    }
    assert map_comment(comment, pseudonymiser).author_key == key("u/jan_fiets")
