"""Mastodon against a real HTTP server on 127.0.0.1 (pytest-httpserver) that speaks the endpoints
Mastodon.py calls: the hashtag timeline (with Link-header paging, as Mastodon sends it), a
status's context, and the v2 instance document that Mastodon.py reads to see whether hashtag
timelines are public. The mapping is tested on its own, without a server."""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from flows.config import ConfigError, parse_settings
from flows.wiring import gazetteer_for, live_sources
from sources.base import SourceError
from sources.mastodon import MastodonCollectOptions, MastodonSource, token_env
from sources.mastodon_mapping import channel, host, map_status, original, post_id
from sources.pseudonym import Pseudonymiser

ID0 = 113_000_000_000_000_000
# Names that must never reach a Post or a table: usernames, display names, account URLs.
PEOPLE = {
    "kees_fietst": "Kees van den Fietsenmaker",
    "marieke_zuilen@social.example": "Marieke uit Zuilen",
    "boostbert": "Bert Doorgeef",
}


def account(acct: str) -> dict[str, Any]:
    username, _, domain = acct.partition("@")
    return {
        "id": str(abs(hash(acct)) % 10_000),
        "username": username,
        "acct": acct,
        "display_name": PEOPLE[acct],
        "url": f"https://{domain or 'mastodon.test'}/@{username}",
    }


def status(
    n: int,
    acct: str = "kees_fietst",
    *,
    text: str = "Nieuwe fietsenstalling bij het station in Utrecht",
    reply_to: int | None = None,
    language: str | None = "nl",
    reblog: dict[str, Any] | None = None,
    spoiler: str = "",
) -> dict[str, Any]:
    sid = str(ID0 + n)
    username, _, domain = acct.partition("@")
    home = domain or "mastodon.test"
    return {
        "id": sid,
        "uri": f"https://{home}/users/{username}/statuses/{sid}",
        "url": f"https://{home}/@{username}/{sid}",
        "created_at": f"2026-11-{10 + n % 15:02d}T08:{n % 60:02d}:00.000Z",
        "content": f"<p>{text} <a href='https://mastodon.test/tags/utrecht' class='hashtag'>#<span>utrecht"
        "</span></a></p><p>Meer&nbsp;info &amp; reacties</p>",
        "spoiler_text": spoiler,
        "visibility": "public",
        "sensitive": bool(spoiler),
        "language": language,
        "in_reply_to_id": None if reply_to is None else str(ID0 + reply_to),
        "in_reply_to_account_id": None if reply_to is None else "1",
        "reblog": reblog,
        "account": account(acct),
        "tags": [{"name": "utrecht", "url": "https://mastodon.test/tags/utrecht"}],
        "mentions": [],
        "media_attachments": [],
        "emojis": [],
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
    }


INSTANCE_PATH = re.compile(r"^/api/v2/instance/?$")  # Mastodon.py asks for /api/v2/instance/
INSTANCE_V2 = {
    "domain": "mastodon.test",
    "title": "Mastodon test",
    "version": "4.4.0",
    "configuration": {
        "timelines_access": {
            "live_feeds": {"local": "public", "remote": "public"},
            "hashtag_feeds": {"local": "public", "remote": "public"},
            "trending_link_feeds": {"local": "public", "remote": "public"},
        }
    },
}


class FakeInstance:
    """The hashtag timelines of one instance, paged like Mastodon: newest first, ``max_id`` back,
    ``min_id`` forward (the page right after it), a Link header with ``next`` and ``prev``, and at
    most ``page_max`` statuses a page (Mastodon's is 40; small here so that paging happens)."""

    def __init__(self, server: HTTPServer, page_max: int = 2) -> None:
        self.server = server
        self.page_max = page_max
        self.tags: dict[str, list[dict[str, Any]]] = {}
        self.contexts: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.authorization: list[str | None] = []
        server.expect_request(INSTANCE_PATH).respond_with_json(INSTANCE_V2)
        server.expect_request(re.compile(r"^/api/v1/timelines/tag/\w+$")).respond_with_handler(self.timeline)
        server.expect_request(re.compile(r"^/api/v1/statuses/\d+/context$")).respond_with_handler(
            self.context
        )

    @property
    def url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def timeline(self, request: Request) -> Response:
        tag = request.path.rsplit("/", 1)[1]
        args = dict(request.args)
        self.requests.append((tag, args))
        self.authorization.append(request.headers.get("Authorization"))
        items = sorted(self.tags.get(tag, []), key=lambda s: int(s["id"]), reverse=True)
        limit = min(int(args.get("limit", 20)), self.page_max)
        if "min_id" in args:
            newer = [s for s in items if int(s["id"]) > int(args["min_id"])]
            page = newer[-limit:]
        else:
            if "max_id" in args:
                items = [s for s in items if int(s["id"]) < int(args["max_id"])]
            if "since_id" in args:
                items = [s for s in items if int(s["id"]) > int(args["since_id"])]
            page = items[:limit]
        headers = {}
        if page:
            base = f"{self.url}/api/v1/timelines/tag/{tag}"
            headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}>; rel="next", <{base}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return Response(json.dumps(page), content_type="application/json", headers=headers)

    def context(self, request: Request) -> Response:
        sid = request.path.split("/")[-2]
        if sid not in self.contexts:
            return Response(
                json.dumps({"error": "Record not found"}), status=404, content_type="application/json"
            )
        return Response(json.dumps(self.contexts[sid]), content_type="application/json")


@pytest.fixture
def instance(httpserver: HTTPServer, monkeypatch) -> FakeInstance:
    fake = FakeInstance(httpserver)
    monkeypatch.delenv(token_env(fake.url), raising=False)
    return fake


def source(fake: FakeInstance, pseudonymiser: Pseudonymiser, tags=("utrecht",), **options) -> MastodonSource:
    opts = MastodonCollectOptions(**{"backoff_s": 0.0, "retries": 3, **options})
    return MastodonSource("utrecht", fake.url, list(tags), pseudonymiser, opts)


def ids(result) -> list[str]:
    return [p.post_id for p in result.posts]


# --- the client against the server ------------------------------------------------------------------


def test_first_run_pages_back_and_a_second_run_with_its_state_adds_nothing(instance, pseudonymiser) -> None:
    instance.tags["utrecht"] = [status(n, language="nl" if n != 3 else "en") for n in range(1, 6)]
    src = source(instance, pseudonymiser)
    first = src.collect({})
    # five statuses over three pages of two, following their Link headers (max_id backwards) to the
    # empty page after the last
    assert len(first.posts) == 5 and len(set(ids(first))) == 5
    assert [a.get("max_id") for _, a in instance.requests] == [None, *(str(ID0 + n) for n in (4, 2, 1))]
    assert all(a is None for a in instance.authorization)  # no token where none is needed
    assert first.state == {"watermarks": {channel("utrecht", instance.url): str(ID0 + 5)}}
    assert all(p.source == "mastodon" and p.kind == "post" and p.author_key for p in first.posts)
    assert {p.channel for p in first.posts} == {channel("utrecht", instance.url)}
    assert first.warnings == [
        f"Mastodon {host(instance.url)}: 1 of 5 statuses not marked as Dutch; "
        "kept, the language is detected in NLP"
    ]

    instance.requests.clear()
    second = src.collect(first.state)
    assert second.posts == [] and second.state == first.state
    assert instance.requests == [("utrecht", {"min_id": str(ID0 + 5), "limit": "40"})]


def test_later_runs_page_forward_from_the_watermark_and_a_limit_leaves_no_gap(
    instance, pseudonymiser
) -> None:
    instance.tags["utrecht"] = [status(n) for n in range(1, 3)]
    src = source(instance, pseudonymiser, limit=3)
    state = src.collect({}).state
    instance.tags["utrecht"] += [status(n) for n in range(3, 9)]  # six new ones, limit three a run
    second = src.collect(state)
    assert ids(second) == [
        post_id(status(n)["uri"], pseudonymiser) for n in (3, 4, 5)
    ]  # the oldest new ones first
    assert second.state["watermarks"] == {channel("utrecht", instance.url): str(ID0 + 5)}
    third = src.collect(second.state)
    assert ids(third) == [post_id(status(n)["uri"], pseudonymiser) for n in (6, 7, 8)]
    assert src.collect(third.state).posts == []


def test_a_429_is_retried_after_the_reset_and_then_succeeds(instance, httpserver, pseudonymiser) -> None:
    reset = datetime.fromtimestamp(time.time() + 1, tz=UTC).isoformat()
    httpserver.expect_oneshot_request("/api/v1/timelines/tag/utrecht").respond_with_json(
        {"error": "Too many requests"},
        status=429,
        headers={"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
    )
    instance.tags["utrecht"] = [status(1)]
    started = time.monotonic()
    result = source(instance, pseudonymiser, max_wait_s=5).collect({})
    assert len(result.posts) == 1
    assert 0.3 < time.monotonic() - started < 5  # waited for the reset, not for Mastodon.py's 5 minutes
    assert [r.path for r, _ in httpserver.log].count("/api/v1/timelines/tag/utrecht") >= 2


def test_server_errors_are_retried_then_fail_the_source(instance, httpserver, pseudonymiser) -> None:
    httpserver.clear()
    httpserver.expect_request(INSTANCE_PATH).respond_with_json(INSTANCE_V2)
    httpserver.expect_request("/api/v1/timelines/tag/utrecht").respond_with_data("busy", status=503)
    with pytest.raises(SourceError, match=r"MastodonServiceUnavailableError \(HTTP 503"):
        source(instance, pseudonymiser, retries=3).collect({})
    assert [r.path for r, _ in httpserver.log].count("/api/v1/timelines/tag/utrecht") == 3


def test_a_401_names_the_token_variable_and_never_the_token(httpserver, monkeypatch, pseudonymiser) -> None:
    httpserver.expect_request(INSTANCE_PATH).respond_with_json(INSTANCE_V2)
    httpserver.expect_request("/api/v1/timelines/tag/utrecht").respond_with_json(
        {"error": "This method requires an authenticated user"}, status=401
    )
    fake_url = httpserver.url_for("/").rstrip("/")
    variable = token_env(fake_url)
    assert variable == "BETROKKEN_MASTODON_TOKEN_" + host(fake_url).upper().replace(".", "_")
    assert token_env("https://mastodon.nl/") == "BETROKKEN_MASTODON_TOKEN_MASTODON_NL"
    src = MastodonSource("utrecht", fake_url, ["utrecht"], pseudonymiser, MastodonCollectOptions(backoff_s=0))
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(SourceError) as without:
        src.collect({})
    assert "HTTP 401" in str(without.value) and variable in str(without.value)

    secret = "tok-3f9a-must-not-leak"
    monkeypatch.setenv(variable, secret)
    with pytest.raises(SourceError) as refused:
        src.collect({})
    assert "HTTP 401" in str(refused.value) and "refused" in str(refused.value)
    assert secret not in str(refused.value) and secret not in repr(src)
    assert httpserver.log[-1][0].headers["Authorization"] == f"Bearer {secret}"


def test_garbage_json_fails_the_source(httpserver, pseudonymiser) -> None:
    httpserver.expect_request(INSTANCE_PATH).respond_with_json(INSTANCE_V2)
    httpserver.expect_request("/api/v1/timelines/tag/utrecht").respond_with_data(
        "<html>{not json", content_type="application/json"
    )
    httpserver.expect_request("/api/v1/timelines/tag/domstad").respond_with_json([{"id": "1"}])
    url = httpserver.url_for("/").rstrip("/")
    with pytest.raises(SourceError, match="not JSON") as error:
        MastodonSource("utrecht", url, ["utrecht"], pseudonymiser).collect({})
    assert "<html>" not in str(error.value)
    with pytest.raises(SourceError, match="unusable status data"):
        MastodonSource("utrecht", url, ["domstad"], pseudonymiser).collect({})


def test_boosts_count_the_original_once_and_replies_are_comments_in_their_thread(
    instance, pseudonymiser
) -> None:
    root, parent = status(1), status(2, "marieke_zuilen@social.example", reply_to=1)
    outside_root = status(20, "marieke_zuilen@social.example", text="Oud draadje over de Neude")
    outside_parent = status(21, text="Tussenbericht", reply_to=20)
    instance.tags["utrecht"] = [
        root,
        parent,
        status(3, reply_to=2, text="Antwoord op het antwoord"),  # parent read: thread from the batch
        status(4, "boostbert", reblog=root),  # a boost of a status in the batch: no new item
        status(5, "boostbert", reblog=outside_root),  # a boost of one not in it: the original, once
        status(6, "boostbert", reblog=outside_root),
        status(7, reply_to=21, text="Reactie in een oud draadje"),  # parent not read: its context
        status(8, reply_to=99, text="Reactie op iets dat weg is"),  # context 404: no parent
    ]
    instance.contexts[str(ID0 + 7)] = {"ancestors": [outside_root, outside_parent], "descendants": []}
    result = source(instance, pseudonymiser).collect({})
    by_id = {p.post_id: p for p in result.posts}
    pid = {
        n: post_id(s["uri"], pseudonymiser)
        for n, s in [(1, root), (2, parent), (20, outside_root), (21, outside_parent)]
    }
    pid.update({n: post_id(status(n)["uri"], pseudonymiser) for n in (3, 7, 8)})
    assert sorted(by_id) == sorted([pid[1], pid[2], pid[3], pid[20], pid[7], pid[8]])
    assert by_id[pid[1]].kind == "post" and by_id[pid[1]].thread_id == pid[1]
    assert by_id[pid[20]].kind == "post"
    assert by_id[pid[20]].author_key == pseudonymiser.author_key("marieke_zuilen@social.example")
    assert (by_id[pid[2]].kind, by_id[pid[2]].parent_id, by_id[pid[2]].thread_id) == (
        "comment",
        pid[1],
        pid[1],
    )
    assert (by_id[pid[3]].parent_id, by_id[pid[3]].thread_id) == (pid[2], pid[1])
    assert (by_id[pid[7]].parent_id, by_id[pid[7]].thread_id) == (pid[21], pid[20])
    assert (by_id[pid[8]].kind, by_id[pid[8]].parent_id, by_id[pid[8]].thread_id) == ("comment", None, pid[8])
    # the booster is no voice
    assert pseudonymiser.author_key("boostbert@mastodon.test") not in {p.author_key for p in result.posts}
    assert pseudonymiser.author_key("boostbert") not in {p.author_key for p in result.posts}


def test_without_thread_resolution_no_context_is_asked(instance, httpserver, pseudonymiser) -> None:
    instance.tags["utrecht"] = [status(7, reply_to=21)]
    result = source(instance, pseudonymiser, resolve_threads=False).collect({})
    assert result.posts[0].kind == "comment" and result.posts[0].parent_id is None
    assert not any("/context" in r.path for r, _ in httpserver.log)


# --- the pure mapping -------------------------------------------------------------------------------


def test_mapping_turns_html_into_text_and_keeps_only_the_keyed_hash_of_the_account(pseudonymiser) -> None:
    raw = status(1, spoiler="Over <b>parkeren</b>")
    post = map_status(raw, "#utrecht@mastodon.test", pseudonymiser, "utrecht")
    assert post.text == "Nieuwe fietsenstalling bij het station in Utrecht #utrecht\nMeer info & reacties"
    assert post.title == "Over parkeren"
    assert post.created_utc == datetime(2026, 11, 11, 8, 1, tzinfo=UTC)
    assert post.author_key == pseudonymiser.author_key("kees_fietst@mastodon.test")
    # the same person read through another instance, where the acct is qualified, hashes alike
    remote = {**raw, "account": {**raw["account"], "acct": "kees_fietst@mastodon.test"}}
    assert map_status(remote, "#utrecht@elders.example", pseudonymiser).author_key == post.author_key
    assert post.post_id == post_id(raw["uri"], pseudonymiser) and post.post_id.startswith("mastodon:")
    assert (
        post.url is None and post.municipality_hint == "utrecht" and post.channel == "#utrecht@mastodon.test"
    )
    shown = json.dumps(asdict(post), default=str)
    for acct, display in PEOPLE.items():
        assert acct.split("@")[0] not in shown and display not in shown
    assert "/@" not in shown and "/users/" not in shown


def test_mapping_of_a_boost_is_its_original_and_the_same_item_through_two_instances(pseudonymiser) -> None:
    root = status(1)
    assert original(status(4, "boostbert", reblog=root)) is root
    assert original(root) is root
    # a Mastodon.py Status parses created_at into a datetime; the same status, the same Post
    parsed = {**root, "created_at": datetime(2026, 11, 11, 8, 1, tzinfo=UTC)}
    assert map_status(parsed, "c", pseudonymiser) == map_status(root, "c", pseudonymiser)
    assert channel("Utrecht", "https://Mastodon.NL/") == "#utrecht@mastodon.nl"


# --- configuration and registry ---------------------------------------------------------------------

BASE = {"id": "utrecht", "name": "Utrecht", "cbs_code": "GM0344"}


def test_config_takes_hashtags_without_hash_and_rejects_what_is_not_a_hashtag(pseudonymiser) -> None:
    settings = parse_settings(
        {
            "mastodon": {"limit": 50, "timeout_s": 5},
            "municipalities": [
                {**BASE, "mastodon": {"instance": "https://mastodon.nl", "hashtags": ["#Utrecht", "domstad"]}}
            ],
        },
        "test",
    )
    notes: list[str] = []
    (built,) = live_sources(settings, pseudonymiser, notes)
    assert notes == [] and isinstance(built, MastodonSource)
    assert (built.key, built.instance, built.hashtags) == (
        "mastodon:utrecht",
        "https://mastodon.nl",
        ["Utrecht", "domstad"],
    )
    assert built.options == MastodonCollectOptions(limit=50, timeout_s=5)
    assert gazetteer_for(settings).resolve("Wie weet een kapper?", "#domstad@mastodon.nl") == (
        "utrecht",
        "channel",
    )
    for bad, complaint in (
        ({"instance": "https://mastodon.nl", "hashtags": ["gemeente utrecht"]}, "is not a hashtag"),
        ({"instance": "https://mastodon.nl", "hashtags": []}, "at least 1 item"),
        ({"instance": "mastodon", "hashtags": ["utrecht"]}, "mastodon.instance"),
        ({"instance": "https://mastodon.nl", "tags": ["utrecht"]}, "unknown key"),
    ):
        with pytest.raises(ConfigError, match=complaint):
            parse_settings({"municipalities": [{**BASE, "mastodon": bad}]}, "test")


# --- the nightly flow -------------------------------------------------------------------------------


def test_nightly_flow_with_only_mastodon_stores_voices_once_and_no_names(
    prefect_harness, instance, tmp_path
) -> None:
    import duckdb

    from flows.nightly import nightly

    texts = [
        "De gemeente wil meer groen in Overvecht, goed plan",
        "Waarom duurt de renovatie van het station zo lang?",
        "Het nieuwe fietspad langs de Vaartsche Rijn is prachtig",
        "Te weinig betaalbare woningen in Leidsche Rijn voor starters",
        "De gemeenteraad besluit vanavond over het parkeerbeleid in de binnenstad",
        "Afvalcontainers in Kanaleneiland worden veel te laat geleegd",
        "Mooi dat de bibliotheek in Zuilen langer open blijft",
        "Speeltuin in Lunetten is eindelijk opgeknapt, de kinderen zijn blij",
    ]
    accounts = ["kees_fietst", "marieke_zuilen@social.example"]
    instance.tags["utrecht"] = [status(n, accounts[n % 2], text=texts[n - 1]) for n in range(1, 9)]
    instance.tags["utrecht"] += [
        status(9, reply_to=2, text="Eens, het moet sneller"),
        status(10, "boostbert", reblog=instance.tags["utrecht"][0]),
    ]
    config = tmp_path / "mastodon.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 0
[mastodon]
backoff_s = 0
[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
  [municipalities.mastodon]
  instance = "{instance.url}"
  hashtags = ["utrecht"]
""")
    first = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    second = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    by_source = {s["source_key"]: s for s in first["sources"]}
    assert by_source["mastodon:utrecht"]["status"] == "ok" and by_source["mastodon:utrecht"]["new"] == 9
    assert {s["source_key"]: s["new"] for s in second["sources"]} == {"mastodon:utrecht": 0}
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        voices = con.execute(
            "SELECT count(*), count(DISTINCT author_key) FROM posts "
            "WHERE source = 'mastodon' AND municipality_id = 'utrecht' AND author_key IS NOT NULL"
        ).fetchone()
        assert voices == (9, 2)  # every status a voice, two people; the booster is none
        assert con.execute("SELECT count(*) FROM enrichment").fetchone()[0] == 9
        state = con.execute("SELECT count(*) FROM source_state WHERE source_key = 'mastodon:utrecht'")
        assert state.fetchone()[0] == 1
        names = [*PEOPLE, *PEOPLE.values(), "kees_fietst", "marieke_zuilen", "boostbert", "/@", "/users/"]
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            for name in names:
                hits = con.execute(
                    f'SELECT count(*) FROM "{table}" WHERE contains(lower("{column}"), lower(?))', [name]
                ).fetchone()[0]
                assert hits == 0, (table, column, name)
