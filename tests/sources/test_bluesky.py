"""Bluesky through the atproto client against a real XRPC server on 127.0.0.1 (pytest-httpserver)
that speaks createSession and searchPosts: since, cursor paging, rate limits and errors."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.base import SourceError
from sources.bluesky import ENV_APP_PASSWORD, ENV_HANDLE, BlueskyCollectOptions, BlueskySource
from sources.bluesky_mapping import channel, item_id, map_post, parse_datetime, sort_at
from sources.pseudonym import Pseudonymiser

HANDLE = "betrokken-test.bsky.social"
APP_PASSWORD = "abcd-efgh-ijkl-mnop"
CREDENTIALS = {"handle": HANDLE, "app_password": APP_PASSWORD}
T0 = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
CID = "bafyreib2rxk3rybk3aobmv5cjuql3bm2twh4jo5uxgf5kpqcsgz7soqhwy"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
LOGIN = "/xrpc/com.atproto.server.createSession"

# Authors: the DID is hashed; handle and display name must never be stored anywhere.
AUTHORS = [
    {
        "did": f"did:plc:bewoner{i}aaaaaaaaaaaaaa",
        "handle": f"bewoner{i}.bsky.social",
        "displayName": f"Kees{i}",
    }
    for i in range(4)
]
TEXTS = [
    "De gemeente Utrecht wil in Overvecht meer sociale huurwoningen bouwen. Goed plan, maar wanneer?",
    "Het nieuwe fietspad langs het Merwedekanaal in Utrecht is eindelijk open, wat een verbetering.",
    "Waarom sluit de gemeente de speeltuin in Lombok? De kinderen in de wijk hebben niets meer.",
    "Bewonersavond over de windmolens bij Lage Weide in Utrecht: kom allemaal, het gaat over ons.",
    "Parkeren in Leidsche Rijn wordt duurder volgens de gemeente, dat vind ik echt niet eerlijk.",
    "De bibliotheek in Kanaleneiland blijft open, mooi dat de gemeenteraad van Utrecht dat besloot.",
]


def uri(author: int, rkey: str) -> str:
    return f"at://{AUTHORS[author]['did']}/app.bsky.feed.post/{rkey}"


def view(n: int, author: int, at: datetime, text: str, reply_to: tuple[str, str] | None = None) -> dict:
    """A post view as searchPosts returns it; ``reply_to`` is (root uri, parent uri)."""
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": at.isoformat().replace("+00:00", "Z"),
        "langs": ["nl"],
    }
    if reply_to:
        root, parent = reply_to
        record["reply"] = {"root": {"uri": root, "cid": CID}, "parent": {"uri": parent, "cid": CID}}
    return {
        "uri": uri(author, f"3kpost{n:07d}"),
        "cid": CID,
        "author": {**AUTHORS[author], "avatar": "https://cdn.bsky.app/img/avatar/plain/x/y@jpeg"},
        "record": record,
        "indexedAt": (at + timedelta(seconds=2)).isoformat().replace("+00:00", "Z"),
        "replyCount": 0,
        "likeCount": 1,
        "labels": [],
    }


def corpus() -> list[dict]:
    """Seven posts over a day, newest first: a thread (root, reply, reply to the reply) and more."""
    root = uri(0, "3kpost0000000")
    first_reply = uri(1, "3kpost0000001")
    return [
        view(6, 3, T0 - timedelta(hours=1), TEXTS[5]),
        view(5, 2, T0 - timedelta(hours=3), TEXTS[4]),
        view(4, 1, T0 - timedelta(hours=5), TEXTS[3]),
        view(3, 0, T0 - timedelta(hours=8), TEXTS[2]),
        view(
            2,
            2,
            T0 - timedelta(hours=10),
            "Helemaal mee eens, in Overvecht wachten mensen al jaren.",
            (root, first_reply),
        ),
        view(1, 1, T0 - timedelta(hours=11), "Zolang het maar betaalbaar blijft in Overvecht.", (root, root)),
        view(0, 0, T0 - timedelta(hours=12), TEXTS[0]),
    ]


def jwt(exp: float) -> str:
    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    claims = {"scope": "com.atproto.appPass", "sub": "did:plc:ik", "exp": int(exp), "iat": int(time.time())}
    return f"{part({'alg': 'ES256K', 'typ': 'at+jwt'})}.{part(claims)}.c2ln"


class FakeBluesky:
    """The XRPC endpoints the source uses, over a list of post views (newest first)."""

    def __init__(self, server: HTTPServer, posts: list[dict]) -> None:
        self.server = server
        self.posts = posts
        self.searches: list[dict[str, str]] = []
        self.logins: list[dict] = []
        self.search_ignores_since = False
        server.expect_request(LOGIN, method="POST").respond_with_handler(self.login)
        server.expect_request(SEARCH, method="GET").respond_with_handler(self.search)

    @property
    def service(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def login(self, request: Request) -> Response:
        body = json.loads(request.get_data())
        self.logins.append(body)
        if body != {"identifier": HANDLE, "password": APP_PASSWORD}:
            error = {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
            return Response(json.dumps(error), 401, content_type="application/json")
        session = {
            "accessJwt": jwt(time.time() + 3600),
            "refreshJwt": jwt(time.time() + 86400),
            "handle": HANDLE,
            "did": "did:plc:ik",
            "active": True,
        }
        return Response(json.dumps(session), 200, content_type="application/json")

    def search(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.searches.append(args)
        if not request.headers.get("Authorization", "").startswith("Bearer "):
            return Response('{"error":"AuthMissing"}', 401, content_type="application/json")
        since = parse_datetime(args["since"]).timestamp() if "since" in args else None
        if self.search_ignores_since:
            since = None
        hits = [p for p in self.posts if since is None or sort_at(p).timestamp() >= since]
        start = int(args.get("cursor", "0"))
        limit = int(args.get("limit", "25"))
        page = hits[start : start + limit]
        out: dict[str, Any] = {"posts": page}
        if start + limit < len(hits):
            out["cursor"] = str(start + limit)
        return Response(json.dumps(out), 200, content_type="application/json")


@pytest.fixture
def bluesky(httpserver: HTTPServer) -> FakeBluesky:
    return FakeBluesky(httpserver, corpus())


def _source(
    fake: FakeBluesky, pseudonymiser: Pseudonymiser, credentials=CREDENTIALS, **options
) -> BlueskySource:
    opts = BlueskyCollectOptions(**{"service": fake.service, "retries": 3, "backoff_s": 0.0, **options})
    return BlueskySource("utrecht", ["Overvecht"], pseudonymiser, dict(credentials), opts)


# --- the pure mapping ------------------------------------------------------------------------------


def test_mapping_a_reply_is_a_comment_of_the_root_with_its_parent(pseudonymiser: Pseudonymiser) -> None:
    posts = corpus()
    reply = map_post(posts[4], pseudonymiser, "Overvecht", "utrecht")
    assert reply.kind == "comment" and reply.source == "bluesky"
    assert reply.thread_id == item_id(uri(0, "3kpost0000000"), pseudonymiser)
    assert reply.parent_id == item_id(uri(1, "3kpost0000001"), pseudonymiser)
    assert reply.post_id == item_id(posts[4]["uri"], pseudonymiser) and reply.post_id.startswith("bluesky:")
    top = map_post(posts[6], pseudonymiser, "Overvecht", "utrecht")
    assert top.kind == "post" and top.thread_id == top.post_id and top.parent_id is None
    first = map_post(posts[5], pseudonymiser, "Overvecht")
    assert first.thread_id == first.parent_id == top.post_id  # a reply to the root: thread = parent
    assert reply.channel == channel("Overvecht") == "bsky:search:Overvecht"
    assert reply.created_utc == T0 - timedelta(hours=10) and reply.text.startswith("Helemaal mee eens")
    assert reply.municipality_hint == "utrecht" and not reply.is_deleted and reply.url is None


def test_mapping_hashes_the_did_and_keeps_no_handle_display_name_or_did(pseudonymiser: Pseudonymiser) -> None:
    for v in corpus():
        post = map_post(v, pseudonymiser, "Overvecht")
        assert post.author_key == pseudonymiser.author_key(v["author"]["did"])
        shown = repr(post)
        for author in AUTHORS:
            for field in ("did", "handle", "displayName"):
                assert author[field] not in shown
            assert author["did"].removeprefix("did:plc:") not in shown


def test_mapping_ids_are_stable_and_sort_at_is_the_earlier_time(pseudonymiser: Pseudonymiser) -> None:
    v = corpus()[0]
    assert map_post(v, pseudonymiser, "a").post_id == map_post(v, pseudonymiser, "b").post_id
    other = Pseudonymiser(b"another-key-of-32-bytes-for-hmac")
    assert map_post(v, other, "a").post_id != map_post(v, pseudonymiser, "a").post_id  # keyed
    future = {**v, "record": {**v["record"], "createdAt": "2030-01-01T00:00:00Z"}}
    assert sort_at(future) == parse_datetime(v["indexedAt"])  # a post dated ahead counts when indexed


# --- the client against the local server -----------------------------------------------------------


def test_collect_logs_in_pages_with_the_cursor_and_keeps_a_watermark(
    bluesky: FakeBluesky, pseudonymiser: Pseudonymiser, httpserver: HTTPServer
) -> None:
    import sources.bluesky as module

    module.PAGE_SIZE, saved = 3, module.PAGE_SIZE
    try:
        result = _source(bluesky, pseudonymiser).collect({})
    finally:
        module.PAGE_SIZE = saved
    assert [r.path for r, _ in httpserver.log] == [LOGIN, SEARCH, SEARCH, SEARCH]  # no profile lookup
    assert [s.get("cursor") for s in bluesky.searches] == [None, "3", "6"]
    assert all(
        s["q"] == "Overvecht" and s["lang"] == "nl" and s["sort"] == "latest" for s in bluesky.searches
    )
    assert "since" not in bluesky.searches[0]  # the first run has no watermark
    assert len(result.posts) == 7 and len({p.post_id for p in result.posts}) == 7
    assert {p.kind for p in result.posts} == {"post", "comment"}
    newest = T0 - timedelta(hours=1)
    assert result.state == {"watermarks": {"Overvecht": newest.timestamp()}}
    assert json.loads(json.dumps(result.state)) == result.state  # stored as JSON as it is


def test_a_second_collection_with_the_state_adds_nothing_new(
    bluesky: FakeBluesky, pseudonymiser: Pseudonymiser
) -> None:
    source = _source(bluesky, pseudonymiser, overlap_s=4 * 3600)
    first = source.collect({})
    second = source.collect(json.loads(json.dumps(first.state)))
    since = T0 - timedelta(hours=5)  # the watermark (T0 - 1 h) minus the 4 h overlap
    assert bluesky.searches[-1]["since"] == since.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    ids = {p.post_id for p in second.posts}
    assert ids and ids <= {p.post_id for p in first.posts}  # the overlap again, nothing new
    assert second.state == first.state


def test_the_limit_stops_paging_and_warns(bluesky: FakeBluesky, pseudonymiser: Pseudonymiser) -> None:
    result = _source(bluesky, pseudonymiser, limit=2).collect({})
    assert len(result.posts) == 2 and len(bluesky.searches) == 1 and bluesky.searches[0]["limit"] == "2"
    assert result.warnings and "limit of 2" in result.warnings[0]
    # the unread, older part of the window stays due: a cut-short search does not move its watermark
    assert result.state["watermarks"] == {}
    marked = {"watermarks": {"Overvecht": 1.0}}
    assert _source(bluesky, pseudonymiser, limit=2).collect(marked).state == marked


def test_rate_limit_then_success(httpserver: HTTPServer, pseudonymiser: Pseudonymiser) -> None:
    reset = int(time.time())  # the window resets now: no wait
    httpserver.expect_oneshot_request(SEARCH).respond_with_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        status=429,
        headers={"ratelimit-limit": "3000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset)},
    )
    fake = FakeBluesky(httpserver, corpus())
    result = _source(fake, pseudonymiser).collect({})
    assert len(result.posts) == 7
    assert [r.path for r, _ in httpserver.log] == [LOGIN, SEARCH, SEARCH]  # the same search once more


def test_server_errors_are_retried_then_fail_the_source(
    httpserver: HTTPServer, pseudonymiser: Pseudonymiser
) -> None:
    httpserver.expect_request(SEARCH).respond_with_json({"error": "InternalServerError"}, status=500)
    fake = FakeBluesky(httpserver, corpus())
    with pytest.raises(SourceError) as exc:
        _source(fake, pseudonymiser, retries=2).collect({})
    assert "500" in str(exc.value) and "after 2 attempts" in str(exc.value)
    assert [r.path for r, _ in httpserver.log] == [LOGIN, SEARCH, SEARCH]


def test_a_refused_login_is_a_readable_source_error_without_the_password(
    bluesky: FakeBluesky, pseudonymiser: Pseudonymiser, httpserver: HTTPServer, caplog
) -> None:
    wrong = {"handle": HANDLE, "app_password": "zzzz-yyyy-xxxx-wwww"}
    with caplog.at_level("DEBUG"), pytest.raises(SourceError) as exc:
        _source(bluesky, pseudonymiser, credentials=wrong).collect({})
    message = str(exc.value)
    assert (
        "login refused" in message and "Invalid identifier or password" in message and ENV_HANDLE in message
    )
    for secret in (*wrong.values(), APP_PASSWORD):
        assert secret not in message and secret not in caplog.text
        assert secret not in repr(_source(bluesky, pseudonymiser, credentials=wrong))
    assert [r.path for r, _ in httpserver.log] == [LOGIN]  # refused: not retried, no search


def test_garbage_json_is_a_source_error(httpserver: HTTPServer, pseudonymiser: Pseudonymiser) -> None:
    httpserver.expect_oneshot_request(SEARCH).respond_with_data(
        '{"posts": [{"uri": "at://x", "author"', content_type="application/json"
    )
    httpserver.expect_oneshot_request(SEARCH).respond_with_json({"posts": [{"author": AUTHORS[0]}]})
    fake = FakeBluesky(httpserver, corpus())
    with pytest.raises(SourceError, match="not JSON"):
        _source(fake, pseudonymiser).collect({})
    with pytest.raises(SourceError, match="not what the API describes") as exc:
        _source(fake, pseudonymiser).collect({})
    assert AUTHORS[0]["handle"] not in str(exc.value)  # the validation error quoted the response


# --- the nightly flow --------------------------------------------------------------------------------


def test_nightly_flow_with_bluesky_stores_voices_twice_without_new_rows_and_no_identity(
    prefect_harness, httpserver: HTTPServer, tmp_path: Path, monkeypatch
) -> None:
    from flows.nightly import nightly
    from warehouse.db import table_counts

    fake = FakeBluesky(httpserver, corpus())
    monkeypatch.setenv(ENV_HANDLE, HANDLE)
    monkeypatch.setenv(ENV_APP_PASSWORD, APP_PASSWORD)
    config = tmp_path / "bsky.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[bluesky]
service = "{fake.service}"
backoff_s = 0

[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
places = ["Lombok", "Overvecht", "Kanaleneiland", "Leidsche Rijn", "Merwedekanaal"]
  [municipalities.bluesky]
  search = ["Overvecht", "Utrecht"]
""")
    as_of = T0.date()
    first = nightly(config_path=str(config), mode="live", as_of=as_of)
    assert first["status"] == "ok", first
    assert first["posts_new"] == 7
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        counts = table_counts(con)
        stored = con.execute(
            "SELECT count(*), count(DISTINCT author_key) FROM posts WHERE source = 'bluesky' "
            "AND municipality_id = 'utrecht' AND author_key IS NOT NULL"
        ).fetchone()
        voices = con.execute("SELECT count(DISTINCT author_key) FROM v_voice_posts WHERE source = 'bluesky'")
        assert stored == (7, 4) and voices.fetchone()[0] == 4
    second = nightly(config_path=str(config), mode="live", as_of=as_of)
    assert second["status"] == "ok" and second["posts_new"] == 0 and second["posts_enriched"] == 0
    assert {s["source_key"] for s in second["sources"]} == {"bluesky:utrecht"}
    assert any("since" in s for s in fake.searches)  # the second run searched from the watermark
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        after = table_counts(con)
        for table in ("posts", "enrichment", "post_topics", "source_state"):
            assert after[table] == counts[table], table
        identities = [v for a in AUTHORS for v in (a["did"], a["handle"], a["displayName"])]
        identities += [a["did"].removeprefix("did:plc:") for a in AUTHORS] + [HANDLE, APP_PASSWORD]
        found = _scan_text_columns(con, identities)
    assert found == []


def _scan_text_columns(con: duckdb.DuckDBPyConnection, needles: list[str]) -> list[tuple[str, str, str]]:
    """(table, column, needle) for every VARCHAR column of every base table that holds a needle."""
    columns = con.execute(
        "SELECT table_name, column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE t.table_type = 'BASE TABLE' AND c.data_type = 'VARCHAR'"
    ).fetchall()
    assert columns
    found = []
    for table, column in columns:
        for needle in needles:
            hit = con.execute(
                f'SELECT count(*) FROM "{table}" WHERE contains(lower("{column}"), lower(?))', [needle]
            ).fetchone()[0]
            if hit:
                found.append((table, column, needle))
    return found


# --- the registry and the probe ----------------------------------------------------------------------

BLUESKY_SKIPPED = (
    "Bluesky skipped: set BETROKKEN_BLUESKY_HANDLE and BETROKKEN_BLUESKY_APP_PASSWORD "
    "(or [bluesky] secret_block) to collect it; see README."
)
CONFIG = {
    "bluesky": {"service": "http://127.0.0.1:1", "limit": 40, "overlap_hours": 6},
    "municipalities": [
        {
            "id": "utrecht",
            "name": "Utrecht",
            "cbs_code": "GM0344",
            "bluesky": {"search": ["Utrecht", "#utrecht"]},
        },
        {"id": "zeist", "name": "Zeist", "cbs_code": "GM0355", "bluesky": {"search": []}},
    ],
}


def test_the_registry_skips_bluesky_without_credentials_with_its_one_line(
    monkeypatch, pseudonymiser: Pseudonymiser
) -> None:
    from flows.config import parse_settings
    from flows.wiring import live_sources

    monkeypatch.delenv(ENV_HANDLE, raising=False)
    monkeypatch.delenv(ENV_APP_PASSWORD, raising=False)
    notes: list[str] = []
    assert live_sources(parse_settings(CONFIG, "test"), pseudonymiser, notes) == []
    assert notes == [BLUESKY_SKIPPED]


def test_the_registry_builds_one_source_per_municipality_with_terms(monkeypatch, pseudonymiser) -> None:
    from flows.config import parse_settings
    from flows.wiring import live_sources

    monkeypatch.setenv(ENV_HANDLE, HANDLE)
    monkeypatch.setenv(ENV_APP_PASSWORD, APP_PASSWORD)
    notes: list[str] = []
    sources = live_sources(parse_settings(CONFIG, "test"), pseudonymiser, notes)
    assert notes == [] and [s.key for s in sources] == ["bluesky:utrecht"]  # zeist names no term
    (source,) = sources
    assert isinstance(source, BlueskySource) and source.search == ["Utrecht", "#utrecht"]
    assert source.options == BlueskyCollectOptions(
        service="http://127.0.0.1:1/", limit=40, overlap_s=6 * 3600
    )
    assert APP_PASSWORD not in repr(source) and HANDLE not in repr(source)
    defaults = parse_settings({"municipalities": CONFIG["municipalities"]}, "test").bluesky
    assert str(defaults.service) == "https://bsky.social/" and defaults.limit == 500


def test_probe_searches_each_term_for_a_few_posts(bluesky: FakeBluesky, pseudonymiser: Pseudonymiser) -> None:
    source = _source(bluesky, pseudonymiser)
    source.search = ["Overvecht", "Utrecht"]
    assert source.probe() == 10
    assert [s["limit"] for s in bluesky.searches] == ["5", "5"]


def test_a_service_that_ignores_since_is_held_to_the_window(
    bluesky: FakeBluesky, pseudonymiser: Pseudonymiser
) -> None:
    import sources.bluesky as module

    bluesky.search_ignores_since = True
    state = {"watermarks": {"Overvecht": (T0 - timedelta(hours=1)).timestamp()}}
    module.PAGE_SIZE, saved = 2, module.PAGE_SIZE
    try:
        result = _source(bluesky, pseudonymiser, overlap_s=4 * 3600).collect(state)
    finally:
        module.PAGE_SIZE = saved
    assert {p.created_utc for p in result.posts} == {T0 - timedelta(hours=h) for h in (1, 3, 5)}
    assert len(bluesky.searches) == 2  # the second page reached past the window: no third
