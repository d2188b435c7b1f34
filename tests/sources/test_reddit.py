"""Reddit through praw against recorded HTTP (cassettes in tests/data/cassettes, record mode none)."""

from datetime import UTC, datetime

import pytest

from sources.base import SourceError
from sources.pseudonym import Pseudonymiser
from sources.reddit import RedditCollectOptions, RedditSource
from tests import DATA

CREDENTIALS = {
    "client_id": "test-client-id",
    "client_secret": "test-client-secret-value",
    "user_agent": "betrokken-tests/0.1",
}
T0 = datetime.fromtimestamp(1_795_600_000, tz=UTC)  # T0 of build_reddit_cassettes.py


def _source(pseudonymiser: Pseudonymiser, **options) -> RedditSource:
    opts = RedditCollectOptions(**{"retries": 3, "backoff_s": 0.0, **options})
    return RedditSource("utrecht", ["Utrecht"], ["gemeente Utrecht"], pseudonymiser, CREDENTIALS, opts)


@pytest.mark.vcr("reddit_listing_comments_search.yaml")
def test_reddit_listing_comments_and_search(pseudonymiser: Pseudonymiser, vcr) -> None:
    result = _source(pseudonymiser).collect({})
    assert vcr.all_played
    ids = [p.post_id for p in result.posts]
    assert len(ids) == len(set(ids))  # u1 comes from both the listing and the search: stored once
    kinds = {p.post_id: p.kind for p in result.posts}
    assert kinds["reddit:t3_u1aaaa"] == "post" and kinds["reddit:t3_s1cccc"] == "post"
    assert kinds["reddit:t1_c2"] == "comment"  # a reply at depth 2
    reply = next(p for p in result.posts if p.post_id == "reddit:t1_c2")
    assert reply.parent_id == "reddit:t1_c1" and reply.thread_id == "reddit:t3_u1aaaa"
    assert all(p.municipality_hint == "utrecht" for p in result.posts)
    watermarks = result.state["watermarks"]
    assert watermarks["sub:Utrecht"] == pytest.approx(T0.timestamp() - 2 * 3600)
    assert watermarks["search:gemeente Utrecht"] == pytest.approx(T0.timestamp() - 5 * 3600)


@pytest.mark.vcr("reddit_listing_comments_search.yaml")
def test_reddit_deleted_and_removed_comments_keep_no_text_or_author(pseudonymiser: Pseudonymiser) -> None:
    posts = {p.post_id: p for p in _source(pseudonymiser).collect({}).posts}
    for pid in ("reddit:t1_c3", "reddit:t1_c4"):
        assert posts[pid].is_deleted and posts[pid].text == "" and posts[pid].author_key is None
    assert posts["reddit:t1_c1"].author_key == pseudonymiser.author_key("testbewoner_vier")
    assert all("testbewoner" not in repr(p) for p in posts.values())


@pytest.mark.vcr("reddit_listing_comments_search.yaml", allow_playback_repeats=True)
def test_reddit_comment_depth_limits_replies(pseudonymiser: Pseudonymiser) -> None:
    posts = {p.post_id for p in _source(pseudonymiser, comment_depth=1).collect({}).posts}
    assert "reddit:t1_c1" in posts and "reddit:t1_c2" not in posts


@pytest.mark.vcr("reddit_listing_comments_search.yaml", allow_playback_repeats=True)
def test_reddit_watermark_stops_the_listing_outside_the_overlap(pseudonymiser: Pseudonymiser) -> None:
    newest = T0.timestamp() - 2 * 3600
    state = {"watermarks": {"sub:Utrecht": newest, "search:gemeente Utrecht": T0.timestamp()}}
    narrow = _source(pseudonymiser, overlap_s=3600).collect(state)
    threads = {p.thread_id for p in narrow.posts}
    assert threads == {"reddit:t3_u2bbbb"}  # u1 is 30 h old: outside a 1 h overlap
    wide = _source(pseudonymiser, overlap_s=48 * 3600).collect(state)
    assert "reddit:t3_u1aaaa" in {p.thread_id for p in wide.posts}  # inside 48 h: late comments are read


@pytest.mark.vcr("reddit_429_then_success.yaml")
def test_reddit_rate_limit_then_success(pseudonymiser: Pseudonymiser, vcr) -> None:
    source = _source(pseudonymiser)
    source.search = []
    result = source.collect({})
    assert {p.thread_id for p in result.posts} == {"reddit:t3_u1aaaa", "reddit:t3_u2bbbb"}
    assert vcr.all_played  # the 429 was answered, then the same request was made again


@pytest.mark.slow
@pytest.mark.vcr("reddit_500.yaml", allow_playback_repeats=True)
def test_reddit_server_error_fails_the_source_without_leaking_secrets(pseudonymiser: Pseudonymiser) -> None:
    with pytest.raises(SourceError) as exc:
        _source(pseudonymiser, retries=1).collect({})
    message = str(exc.value)
    assert "ServerError" in message
    for secret in CREDENTIALS.values():
        assert secret not in message and secret not in repr(_source(pseudonymiser))


def test_reddit_cassettes_hold_no_secret() -> None:
    folder = DATA / "cassettes"
    for cassette in folder.glob("*.yaml"):
        text = cassette.read_text(encoding="utf-8")
        assert "SCRUBBED" in text or "access_token" not in text
        assert "Authorization" not in text and "authorization" not in text
