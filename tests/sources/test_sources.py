import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sources.base import content_hash
from sources.pseudonym import Pseudonymiser, load_key
from sources.reddit_mapping import iter_thread, map_comment, map_submission, praw_data
from sources.relevance import Gazetteer, GazetteerEntry
from sources.rss_mapping import canonical_link, html_to_text, parse_feed
from sources.sample import (
    SAMPLE_DIR,
    SampleBluesky,
    SampleFeed,
    SampleMastodon,
    SampleReddit,
    intended_mix,
    sample_sources,
)

FETCHED = datetime(2026, 11, 25, tzinfo=UTC)


def _sample_threads() -> list:
    return json.loads((SAMPLE_DIR / "reddit.json").read_text(encoding="utf-8"))


def test_reddit_map_submission_unescapes_and_pseudonymises(pseudonymiser: Pseudonymiser) -> None:
    data = {
        "name": "t3_abc",
        "subreddit": "utrecht",
        "author": "fietsfan_030",
        "title": "Parkeren &amp; fietsen",
        "selftext": "Tekst met &lt;b&gt;",
        "created_utc": 1767225600.0,
        "permalink": "/r/utrecht/comments/abc/x/",
    }
    post = map_submission(data, pseudonymiser)
    assert post.post_id == "reddit:t3_abc" and post.kind == "post" and post.channel == "r/utrecht"
    assert post.title == "Parkeren & fietsen" and post.text == "Tekst met <b>"
    assert post.created_utc == datetime(2026, 1, 1, tzinfo=UTC)
    assert post.author_key == pseudonymiser.author_key("fietsfan_030")
    assert "fietsfan" not in repr(post)


def test_reddit_deleted_comment_keeps_no_text_and_no_author(pseudonymiser: Pseudonymiser) -> None:
    data = {
        "name": "t1_x",
        "subreddit": "utrecht",
        "author": "[deleted]",
        "body": "[deleted]",
        "created_utc": 1767225600,
        "parent_id": "t3_abc",
        "link_id": "t3_abc",
        "permalink": "/r/x/",
    }
    post = map_comment(data, pseudonymiser)
    assert post.is_deleted and post.text == "" and post.author_key is None
    assert post.thread_id == "reddit:t3_abc" and post.parent_id == "reddit:t3_abc"


def test_sample_reddit_has_enough_items_over_eight_weeks(pseudonymiser: Pseudonymiser) -> None:
    result = SampleReddit(pseudonymiser).collect({})
    posts = result.posts
    assert len(posts) >= 250
    assert {p.kind for p in posts} == {"post", "comment"}
    span = max(p.created_utc for p in posts) - min(p.created_utc for p in posts)
    assert span.days >= 56
    assert any(p.is_deleted for p in posts)
    # every comment points into a thread that the sample contains
    threads = {p.post_id for p in posts if p.kind == "post"}
    assert all(p.thread_id in threads for p in posts if p.kind == "comment")


def test_sample_reddit_thread_walk_reaches_nested_replies() -> None:
    counts = [sum(1 for _ in iter_thread(thread)) for thread in _sample_threads()]
    nested = [
        item
        for thread in _sample_threads()
        for kind, item in iter_thread(thread)
        if kind == "t1" and item["parent_id"].startswith("t1_")
    ]
    assert sum(counts) >= 250 and nested


def test_sample_feeds_parse_with_warnings_for_the_malformed_one() -> None:
    results = {p.name: SampleFeed(p).collect({}) for p in sorted((SAMPLE_DIR / "feeds").iterdir())}
    assert sum(len(r.posts) for r in results.values()) >= 60
    assert len(results) >= 3
    bode = results["betuwe-bode.rss"]
    assert any("not well-formed" in w for w in bode.warnings)
    assert any("no valid date" in w for w in bode.warnings)
    # ISO-8859-1 feed decoded into proper characters
    assert any("é" in (p.text + (p.title or "")) for p in bode.posts)
    for result in results.values():
        for post in result.posts:
            assert post.kind == "article" and post.author_key is None
            assert "<p>" not in post.text and "&lt;" not in post.text


def _sample_json(name: str) -> list:
    return json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8"))


def _sample_people() -> set[str]:
    """Every handle, display name, username, acct and DID of the sample's Bluesky and Mastodon files."""
    names: set[str] = set()
    for search in _sample_json("bluesky.json"):
        for view in search["posts"]:
            names |= {view["author"]["did"], view["author"]["handle"], view["author"]["displayName"]}
    for timeline in _sample_json("mastodon.json"):
        for status in timeline["statuses"]:
            for item in (status, status["reblog"] or {}):
                if item:
                    account = item["account"]
                    names |= {account["acct"], account["username"], account["display_name"], account["url"]}
    return names


def test_sample_sources_cover_three_platforms_and_the_feeds(pseudonymiser: Pseudonymiser) -> None:
    keys = [source.key for source in sample_sources(pseudonymiser)]
    assert keys[:3] == ["sample:reddit", "sample:bluesky", "sample:mastodon"]
    assert len(keys) == 6 and all(k.startswith("sample:rss:") for k in keys[3:])


def test_sample_bluesky_maps_every_view_with_replies_in_their_thread(pseudonymiser: Pseudonymiser) -> None:
    searches = _sample_json("bluesky.json")
    views = [view for search in searches for view in search["posts"]]
    posts = SampleBluesky(pseudonymiser).collect({}).posts
    assert len(posts) == len(views) == 25
    assert {p.source for p in posts} == {"bluesky"}
    assert {p.municipality_hint for p in posts} == {"utrecht", "overbetuwe"}
    assert {p.channel for p in posts} == {f"bsky:search:{s['term']}" for s in searches}
    by_id = {p.post_id: p for p in posts}
    comments = [p for p in posts if p.kind == "comment"]
    assert len(comments) == 6
    # every reply points at a parent and a thread root that the sample contains, and a reply to a
    # reply keeps the root as its thread
    assert all(p.parent_id in by_id and by_id[p.thread_id].kind == "post" for p in comments)
    assert any(p.parent_id != p.thread_id for p in comments)
    assert len({p.author_key for p in posts}) == 10  # 8 voices, one English, one off-topic
    span = (min(p.created_utc for p in posts), max(p.created_utc for p in posts))
    assert span[0] >= datetime(2026, 9, 1, tzinfo=UTC) and span[1] < datetime(2026, 11, 25, tzinfo=UTC)


def test_sample_mastodon_maps_every_status_and_the_boost_is_no_new_voice(
    pseudonymiser: Pseudonymiser,
) -> None:
    from sources.mastodon_mapping import post_id

    timelines = _sample_json("mastodon.json")
    statuses = [s for t in timelines for s in t["statuses"]]
    boosts = [s for s in statuses if s["reblog"]]
    assert len(statuses) == 21 and len(boosts) == 1
    posts = SampleMastodon(pseudonymiser).collect({}).posts
    assert len(posts) == 20  # the boost is read as the status it boosts, which is read once
    ids = [p.post_id for p in posts]
    assert len(set(ids)) == len(ids) and post_id(boosts[0]["reblog"]["uri"], pseudonymiser) in ids
    booster = pseudonymiser.author_key(boosts[0]["account"]["acct"] + "@mastodon.example")
    assert booster not in {p.author_key for p in posts}
    assert len({p.author_key for p in posts}) == 8
    assert {p.channel for p in posts} == {
        "#utrecht@mastodon.example",
        "#overbetuwe@mastodon.example",
        "#elst@mastodon.example",
    }
    by_id = {p.post_id: p for p in posts}
    comments = [p for p in posts if p.kind == "comment"]
    assert len(comments) == 6
    assert all(p.parent_id in by_id and by_id[p.thread_id].kind == "post" for p in comments)
    assert any(p.parent_id != p.thread_id for p in comments)  # a reply to a reply: thread is the root


def test_sample_new_platforms_keep_no_handle_display_name_or_did(pseudonymiser: Pseudonymiser) -> None:
    names = _sample_people()
    assert len(names) > 40
    posts = [
        *SampleBluesky(pseudonymiser).collect({}).posts,
        *SampleMastodon(pseudonymiser).collect({}).posts,
    ]
    for post in posts:
        assert post.url is None
        stored = repr(post).lower()
        # mentions of a username stay in the text until the ingest scrub; nothing else may carry a name
        fields = stored.replace(post.text.lower(), "")
        assert [n for n in names if n.lower() in fields] == []
    labels = (SAMPLE_DIR / "voice_labels.csv").read_text(encoding="utf-8")
    keys = {p.author_key for p in posts}
    authors = [line.split(",")[0] for line in labels.splitlines() if not line.startswith("#")]
    labelled = [a for a in authors if a.startswith("did:") or "@" in a]  # Bluesky DIDs, Mastodon accts
    assert len(labelled) == 16 and all(pseudonymiser.author_key(a) in keys for a in labelled)


def test_rss_bytes_without_entries_is_an_error() -> None:
    from sources.base import SourceError

    with pytest.raises(SourceError, match="HTML page, not a feed"):
        parse_feed(b"<html><body>Not found</body></html>", "Kapot", FETCHED)


def test_rss_entry_id_falls_back_to_the_canonical_link() -> None:
    feed = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
    <item><title>A</title><link>https://x.example.org/a?utm_source=rss&amp;id=3</link>
    <description>&lt;p&gt;Hallo &lt;script&gt;alert(1)&lt;/script&gt;wereld&lt;/p&gt;</description>
    <pubDate>Tue, 01 Sep 2026 10:00:00 +0200</pubDate></item></channel></rss>"""
    twice = [parse_feed(feed, "T", FETCHED).posts[0] for _ in range(2)]
    assert twice[0].post_id == twice[1].post_id
    assert twice[0].url == "https://x.example.org/a?id=3"
    assert twice[0].created_utc == datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert twice[0].text == "Hallo wereld"


def test_html_to_text_and_canonical_link() -> None:
    assert html_to_text("<p>Een &amp; twee</p><p>drie</p>") == "Een & twee\ndrie"
    assert canonical_link("HTTPS://Example.org/x?utm_medium=feed&a=1#top") == "https://example.org/x?a=1"


def test_content_hash_ignores_case_links_and_spacing() -> None:
    assert content_hash("Het  AZC in Elst https://x.nl/a") == content_hash("het azc in elst")
    assert content_hash("het azc in elst") != content_hash("het azc in zetten")


def test_intended_mix_covers_all_eight_profiles_unequally() -> None:
    voices = intended_mix()["voices"]
    totals: dict[str, int] = {}
    for mix in voices.values():
        for profile, n in mix.items():
            totals[profile] = totals.get(profile, 0) + n
    assert len(totals) == 8
    assert max(totals.values()) >= 3 * min(totals.values())


def test_pseudonymiser_is_stable_keyed_and_hides_its_key(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("BETROKKEN_AUTHOR_KEY", raising=False)
    key_file = tmp_path / "keys" / "betrokken.key"
    key = load_key(key_file)
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert load_key(key_file) == key
    a, b = Pseudonymiser(key), Pseudonymiser(b"another-key-of-at-least-16-bytes")
    assert a.author_key("Fietsfan_030") == a.author_key("fietsfan_030 ")
    assert a.author_key("fietsfan_030") != b.author_key("fietsfan_030")
    assert a.author_key("[deleted]") is None
    assert key.decode() not in repr(a)


def test_pseudonymiser_prefers_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("BETROKKEN_AUTHOR_KEY", "from-the-environment-0123456789")
    assert load_key(tmp_path / "unused.key") == b"from-the-environment-0123456789"
    assert not (tmp_path / "unused.key").exists()


@pytest.fixture
def gazetteer() -> Gazetteer:
    return Gazetteer(
        [
            GazetteerEntry("utrecht", ("Utrecht", "030"), ("Lombok", "Overvecht"), ("r/utrecht",)),
            GazetteerEntry("overbetuwe", ("Overbetuwe",), ("Elst", "Zetten"), ("r/betuwe",)),
        ]
    )


def test_relevance_by_name_place_channel_and_thread(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("Nieuwe speeltuin in Elst-Zuid", "r/thenetherlands") == ("overbetuwe", "named")
    assert gazetteer.resolve("parkeren in utrecht wordt duur", "r/x")[0] == "utrecht"
    assert gazetteer.resolve("Wie weet een kapper?", "r/utrecht") == ("utrecht", "channel")
    assert gazetteer.resolve("Helemaal mee eens", "r/thenetherlands", inherited="overbetuwe") == (
        "overbetuwe",
        "thread",
    )
    assert gazetteer.resolve("Huren in Amsterdam is niet te doen", "r/thenetherlands") == (None, "none")


def test_relevance_places_are_case_sensitive(gazetteer: Gazetteer) -> None:
    # "zetten" is also a Dutch verb; only the capitalised place name counts
    assert gazetteer.resolve("we moeten de tafels klaar zetten", "r/x") == (None, "none")
    assert gazetteer.resolve("Het dorpshuis in Zetten", "r/x")[0] == "overbetuwe"


def _praw_object(kind: str, data: dict):
    """A praw submission or comment made from Reddit API JSON, as praw makes them; no request."""
    import praw
    from praw.models import Comment, Submission

    reddit = praw.Reddit(
        client_id="x", client_secret="y", user_agent="betrokken-tests", check_for_updates=False
    )
    return (Submission if kind == "t3" else Comment)(reddit, _data=dict(data))


def test_a_live_praw_item_maps_to_the_post_of_its_api_json(pseudonymiser: Pseudonymiser) -> None:
    items = [(kind, data) for thread in _sample_threads()[:5] for kind, data in iter_thread(thread)]
    assert {kind for kind, _ in items} == {"t3", "t1"}
    for kind, data in items:
        mapper = map_submission if kind == "t3" else map_comment
        live = mapper(praw_data(_praw_object(kind, data), kind), pseudonymiser, "utrecht")
        assert live == mapper(data, pseudonymiser, "utrecht")


def test_a_praw_item_without_author_maps_to_a_deleted_post(pseudonymiser: Pseudonymiser) -> None:
    data = {
        "id": "c9",
        "name": "t1_c9",
        "subreddit": "utrecht",
        "author": "[deleted]",  # praw reads this as no author at all
        "created_utc": 1767225600.0,
        "permalink": "/r/utrecht/comments/abc/x/c9/",
        "body": "Bel me op 06-12345678 over Lombok",
        "parent_id": "t3_abc",
        "link_id": "t3_abc",
    }
    comment = _praw_object("t1", data)
    assert comment.author is None
    post = map_comment(praw_data(comment, "t1"), pseudonymiser)
    assert post.is_deleted and post.text == "" and post.author_key is None
    assert post.thread_id == "reddit:t3_abc"
