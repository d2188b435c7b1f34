"""Reddit in mode = "feeds": public Atom feeds shaped like Reddit's (tests/data/reddit_feeds), served by
a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from dataclasses import fields
from datetime import UTC, datetime

import pytest
from werkzeug import Request, Response

from flows.config import ConfigError, parse_settings
from sources.base import SourceConfig, SourceError
from sources.pseudonym import Pseudonymiser
from sources.reddit import ENV_USER_AGENT
from sources.reddit_feeds import RedditFeedsOptions, RedditFeedSource, build
from sources.reddit_mapping import map_comment, map_submission
from tests import DATA

FEEDS = DATA / "reddit_feeds"
ATOM = "application/atom+xml; charset=UTF-8"
# Every account name in the feeds: none may reach a Post, except as the keyed hash.
USERNAMES = ("Fietser_Lombok", "BuurtBewoner030", "wijkkrant_lezer", "randstad_pendelaar", "Modbeheer_weg")


def _options(httpserver, **kw) -> dict:
    return {"feeds_base": httpserver.url_for("/"), "limit": 100, "retries": 3, "backoff_s": 0.0, **kw}


def _sources(httpserver, pseudonymiser, subreddits=("Utrecht",), search=("gemeente Utrecht",), **kw):
    section = {"mode": "feeds", "subreddits": list(subreddits), "search": list(search)}
    return build(SourceConfig("utrecht", section, _options(httpserver, **kw), pseudonymiser))


def _serve_all(httpserver) -> None:
    for path, name in (("/r/Utrecht/new/.rss", "new"), ("/r/Utrecht/comments/.rss", "comments")):
        httpserver.expect_request(path).respond_with_data(
            (FEEDS / f"{name}.atom").read_bytes(), content_type=ATOM
        )
    httpserver.expect_request("/search.rss").respond_with_data(
        (FEEDS / "search.atom").read_bytes(), content_type=ATOM
    )


def _collect_all(httpserver, pseudonymiser) -> dict:
    _serve_all(httpserver)
    return {s.name: s.collect({}) for s in _sources(httpserver, pseudonymiser)}


def test_posts_comments_and_search_feeds_become_posts(
    httpserver, pseudonymiser: Pseudonymiser, monkeypatch
) -> None:
    monkeypatch.delenv(ENV_USER_AGENT, raising=False)
    results = _collect_all(httpserver, pseudonymiser)
    assert list(results) == ["r/Utrecht/new", "r/Utrecht/comments", "search:gemeente Utrecht"]
    # one request per feed, each with a descriptive User-Agent; the search is site-wide and newest first
    assert [r.path for r, _ in httpserver.log] == [
        "/r/Utrecht/new/.rss",
        "/r/Utrecht/comments/.rss",
        "/search.rss",
    ]
    assert all("betrokken" in r.headers["User-Agent"] for r, _ in httpserver.log)
    assert httpserver.log[2][0].args.to_dict() == {"q": "gemeente Utrecht", "sort": "new", "limit": "100"}

    new = {p.post_id: p for p in results["r/Utrecht/new"].posts}
    assert list(new) == ["reddit:t3_1kaaaa1", "reddit:t3_1kbbbb2", "reddit:t3_1kcccc3"]
    bike = new["reddit:t3_1kaaaa1"]
    assert (bike.source, bike.kind, bike.channel, bike.thread_id) == (
        "reddit",
        "post",
        "r/Utrecht",
        bike.post_id,
    )
    assert bike.title == "Nieuwe fietsenstalling in Lombok: wat vinden jullie ervan?"
    # the HTML body as text; the "submitted by /u/..." trailer and its links are not kept
    assert bike.text == (
        "De gemeente Utrecht wil bij de Kanaalstraat een bewaakte fietsenstalling bouwen. Ik vind het een "
        "goed plan, want de stoep staat nu vol met fietsen.\nWel jammer dat er vier bomen voor moeten wijken."
    )
    assert bike.created_utc == datetime(2026, 11, 24, 20, 10, tzinfo=UTC)
    assert bike.url == "https://www.reddit.com/r/Utrecht/comments/1kaaaa1/nieuwe_fietsenstalling_lombok/"
    assert new["reddit:t3_1kcccc3"].text == "" and new["reddit:t3_1kcccc3"].author_key  # a link post
    assert all(p.municipality_hint == "utrecht" and not p.is_deleted for p in new.values())

    comments = {p.post_id: p for p in results["r/Utrecht/comments"].posts}
    reply = comments["reddit:t1_mc0001a"]
    assert reply.kind == "comment" and reply.title is None and reply.channel == "r/Utrecht"
    # the thread from the comment's permalink; the feed does not tell the parent: the post stands in
    assert reply.thread_id == reply.parent_id == "reddit:t3_1kaaaa1"
    assert reply.created_utc == datetime(
        2026, 11, 24, 20, 40, tzinfo=UTC
    )  # <updated>: comments have no <published>
    assert reply.text.startswith("Eens, maar de gemeente")

    found = {p.post_id: p for p in results["search:gemeente Utrecht"].posts}
    assert found["reddit:t3_1kdddd4"].channel == "r/thenetherlands"  # the item's own subreddit
    assert found["reddit:t3_1kbbbb2"] == new["reddit:t3_1kbbbb2"]  # the same item from two feeds: one row
    assert "&" in found["reddit:t3_1kdddd4"].text  # entities decoded


def test_deleted_and_removed_comments_keep_no_text_and_no_author(httpserver, pseudonymiser) -> None:
    comments = {p.post_id: p for p in _collect_all(httpserver, pseudonymiser)["r/Utrecht/comments"].posts}
    for pid in ("reddit:t1_mc0003c", "reddit:t1_mc0004d"):  # author [deleted]; body [removed] by a moderator
        post = comments[pid]
        assert post.is_deleted and post.text == "" and post.author_key is None
        assert post.thread_id == "reddit:t3_1kbbbb2"  # the record that it existed, in its thread
    assert not comments["reddit:t1_mc0001a"].is_deleted


def test_ids_and_author_keys_equal_the_api_modes_for_the_same_item(httpserver, pseudonymiser) -> None:
    results = _collect_all(httpserver, pseudonymiser)
    posts = {p.post_id: p for r in results.values() for p in r.posts}
    # The same items as the Reddit API gives them (praw_data's shape), mapped by API mode's mapping.
    api_post = map_submission(
        {
            "name": "t3_1kaaaa1",
            "subreddit": "Utrecht",
            "author": "Fietser_Lombok",
            "created_utc": datetime(2026, 11, 24, 20, 10, tzinfo=UTC).timestamp(),
            "permalink": "/r/Utrecht/comments/1kaaaa1/nieuwe_fietsenstalling_lombok/",
            "title": "Nieuwe fietsenstalling in Lombok: wat vinden jullie ervan?",
            "selftext": "De gemeente Utrecht wil ...",
        },
        pseudonymiser,
        "utrecht",
    )
    api_comment = map_comment(
        {
            "name": "t1_mc0001a",
            "subreddit": "Utrecht",
            "author": "BuurtBewoner030",  # the feed spells this account buurtbewoner030 on the comment
            "created_utc": datetime(2026, 11, 24, 20, 40, tzinfo=UTC).timestamp(),
            "permalink": "/r/Utrecht/comments/1kaaaa1/nieuwe_fietsenstalling_lombok/mc0001a/",
            "body": "Eens, ...",
            "parent_id": "t3_1kaaaa1",
            "link_id": "t3_1kaaaa1",
        },
        pseudonymiser,
        "utrecht",
    )
    for api in (api_post, api_comment):
        feed = posts[api.post_id]
        same = ("post_id", "source", "kind", "channel", "created_utc", "url", "thread_id", "parent_id")
        assert {f: getattr(feed, f) for f in same} == {f: getattr(api, f) for f in same}
        assert feed.author_key == api.author_key is not None
    # one person, one key: the post and the comment of BuurtBewoner030 share it
    assert posts["reddit:t3_1kbbbb2"].author_key == posts["reddit:t1_mc0001a"].author_key
    assert posts["reddit:t3_1kbbbb2"].author_key == pseudonymiser.author_key("BuurtBewoner030")


def test_the_author_is_in_no_field_except_as_the_keyed_hash(httpserver, pseudonymiser) -> None:
    results = _collect_all(httpserver, pseudonymiser)
    posts = [p for r in results.values() for p in r.posts]
    assert len(posts) == 9
    for post in posts:
        for f in fields(post):
            value = str(getattr(post, f.name)).casefold()
            assert not any(name.casefold() in value for name in USERNAMES), (post.post_id, f.name)
        assert "/u/" not in post.text and "submitted by" not in post.text
    keys = {p.author_key for p in posts} - {None}
    assert keys == {pseudonymiser.author_key(n) for n in USERNAMES} - {
        pseudonymiser.author_key("Modbeheer_weg")
    }
    assert [w for r in results.values() for w in r.warnings] == []


def test_second_run_with_etag_gets_304_and_delivers_nothing(httpserver, pseudonymiser) -> None:
    etag, modified = '"r-utrecht-new-1"', "Tue, 24 Nov 2026 21:00:00 GMT"
    seen: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        body = (FEEDS / "new.atom").read_bytes()
        return Response(body, content_type=ATOM, headers={"ETag": etag, "Last-Modified": modified})

    httpserver.expect_request("/r/Utrecht/new/.rss").respond_with_handler(handler)
    source = _sources(httpserver, pseudonymiser, search=())[0]
    first = source.collect({})
    assert len(first.posts) == 3
    assert first.state == {
        "url": source.url,
        "etag": etag,
        "last_modified": modified,
        "newest_id": "t3_1kaaaa1",
        "newest_utc": datetime(2026, 11, 24, 20, 10, tzinfo=UTC).timestamp(),
    }
    second = source.collect(first.state)
    assert second.posts == [] and second.state == first.state
    assert seen[1]["If-None-Match"] == etag and seen[1]["If-Modified-Since"] == modified
    # state kept for another URL (e.g. feeds_base changed) is not sent: the new URL is read afresh
    moved = RedditFeedSource("utrecht", source.name, source.url + "&x=1", pseudonymiser, source.options)
    assert len(moved.collect(first.state).posts) == 3 and "If-None-Match" not in seen[2]


def test_without_etag_every_listed_item_is_delivered_and_a_gap_is_said(httpserver, pseudonymiser) -> None:
    """An item older than the newest seen may be new to us (a search hit indexed late, a post let
    through by the moderators): it is delivered; the store skips the items it already has."""
    httpserver.expect_request("/r/Utrecht/new/.rss").respond_with_data(
        (FEEDS / "new.atom").read_bytes(), content_type=ATOM
    )
    source = _sources(httpserver, pseudonymiser, search=())[0]
    older = {
        "url": source.url,
        "newest_id": "t3_1kbbbb2",
        "newest_utc": datetime(2026, 11, 24, 18, 30, tzinfo=UTC).timestamp(),
    }
    result = source.collect(older)
    assert len(result.posts) == 3 and "reddit:t3_1kaaaa1" in [p.post_id for p in result.posts]
    assert result.state["newest_id"] == "t3_1kaaaa1" and result.warnings == []
    # nothing in the feed is as old as the newest seen: a gap is possible, and said
    gap = source.collect({"url": source.url, "newest_utc": datetime(2026, 11, 1, tzinfo=UTC).timestamp()})
    assert len(gap.posts) == 3 and any("may be missed" in w for w in gap.warnings)


def test_429_then_success_waits_and_asks_again(httpserver, pseudonymiser) -> None:
    httpserver.expect_ordered_request("/r/Utrecht/new/.rss").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "0"}
    )
    httpserver.expect_ordered_request("/r/Utrecht/new/.rss").respond_with_data(
        (FEEDS / "new.atom").read_bytes(), content_type=ATOM
    )
    source = _sources(httpserver, pseudonymiser, search=())[0]
    assert len(source.collect({}).posts) == 3
    assert len(httpserver.log) == 2


def test_429_every_time_fails_the_feed_with_a_readable_error(httpserver, pseudonymiser) -> None:
    httpserver.expect_request("/r/Utrecht/new/.rss").respond_with_data("slow down", status=429)
    source = _sources(httpserver, pseudonymiser, search=(), retries=2)[0]
    with pytest.raises(
        SourceError, match=r"Reddit feed r/Utrecht/new: HTTP 429 \(rate limited by Reddit\) after 2"
    ):
        source.collect({})
    assert len(httpserver.log) == 2


def test_a_broken_feed_fails_alone_and_the_other_feeds_are_collected(httpserver, pseudonymiser) -> None:
    httpserver.expect_request("/r/Utrecht/new/.rss").respond_with_data(
        (FEEDS / "new.atom").read_bytes(), content_type=ATOM
    )
    httpserver.expect_request("/r/Utrecht/comments/.rss").respond_with_data(
        "<html><body>Our CDN was unable to reach our servers</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/search.rss").respond_with_data("gone", status=404)
    outcome = {}
    for source in _sources(httpserver, pseudonymiser):
        try:
            outcome[source.key] = len(source.collect({}).posts)
        except SourceError as exc:
            outcome[source.key] = str(exc)
    assert outcome == {
        "reddit_feeds:utrecht:r/Utrecht/new": 3,
        "reddit_feeds:utrecht:r/Utrecht/comments": "Reddit feed r/Utrecht/comments: HTML page, not a feed",
        "reddit_feeds:utrecht:search:gemeente Utrecht": (
            f"Reddit feed search:gemeente Utrecht: HTTP 404 from {httpserver.url_for('/search.rss')}"
            "?…"  # the search term is in the label; a query string is never shown
        ),
    }


def test_an_empty_answer_or_a_cut_off_feed_is_said_so(httpserver, pseudonymiser) -> None:
    whole = (FEEDS / "new.atom").read_bytes()
    cut = whole[: whole.index(b"</entry>") + len(b"</entry>")]  # the first item, then the end
    httpserver.expect_request("/r/Utrecht/new/.rss").respond_with_data(b"", content_type=ATOM)
    httpserver.expect_request("/r/Utrecht/comments/.rss").respond_with_data(cut, content_type=ATOM)
    new, comments = _sources(httpserver, pseudonymiser, search=())
    with pytest.raises(SourceError, match=r"^Reddit feed r/Utrecht/new: empty response$"):
        new.collect({})
    cut_off = comments.collect({})
    last_line = cut.count(b"\n") + 1
    assert len(cut_off.posts) == 1
    assert cut_off.warnings == [
        f"Reddit feed r/Utrecht/comments: truncated XML at line {last_line}; kept 1 entry before it"
    ]


def test_feed_urls_follow_the_config(pseudonymiser) -> None:
    options = RedditFeedsOptions.from_config(
        {"feeds_base": "https://www.reddit.com/", "limit": 500, "retries": 4, "backoff_s": 2.0}
    )
    sources = build(
        SourceConfig(
            "zeist",
            {"mode": "feeds", "subreddits": ["Zeist"], "search": ["Zeist & Soest"]},
            {"feeds_base": "https://www.reddit.com/", "limit": 500, "retries": 4, "backoff_s": 2.0},
            pseudonymiser,
        )
    )
    assert options.limit == 100  # a feed lists at most 100 items
    assert [s.url for s in sources] == [
        "https://www.reddit.com/r/Zeist/new/.rss?limit=100",
        "https://www.reddit.com/r/Zeist/comments/.rss?limit=100",
        "https://www.reddit.com/search.rss?q=Zeist+%26+Soest&sort=new&limit=100",
    ]


def test_an_unknown_mode_is_a_config_error_naming_file_key_and_fix() -> None:
    config = {
        "municipalities": [
            {
                "id": "utrecht",
                "name": "Utrecht",
                "cbs_code": "GM0344",
                "reddit": {"mode": "rss", "subreddits": ["Utrecht"]},
            }
        ]
    }
    with pytest.raises(ConfigError) as exc:
        parse_settings(config, "betrokken.toml")
    assert "betrokken.toml" in str(exc.value)
    assert "municipalities[0].reddit.mode: must be 'api' or 'feeds' (got 'rss')" in str(exc.value)
    settings = parse_settings(
        {**config, "municipalities": [{**config["municipalities"][0], "reddit": {}}]}, "t"
    )
    assert settings.municipalities[0].reddit.mode == "api"  # the default keeps praw
    assert str(settings.reddit.feeds_base) == "https://www.reddit.com/"
