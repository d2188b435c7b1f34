"""The nightly flow with Reddit in mode = "feeds": no Reddit credentials, the feeds on 127.0.0.1."""

from datetime import date
from pathlib import Path

import duckdb
from werkzeug import Request, Response

from sources.reddit import ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT
from tests import DATA

FEEDS = DATA / "reddit_feeds"
USERNAMES = ("Fietser_Lombok", "BuurtBewoner030", "wijkkrant_lezer", "randstad_pendelaar", "Modbeheer_weg")


def _serve(httpserver, path: str, name: str, etag: str | None = None) -> None:
    body = (FEEDS / f"{name}.atom").read_bytes()

    def handler(request: Request) -> Response:
        if etag and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type="application/atom+xml", headers={"ETag": etag} if etag else {})

    httpserver.expect_request(path).respond_with_handler(handler)


def test_flow_reads_reddit_feeds_without_credentials_twice(
    prefect_harness, httpserver, tmp_path: Path, monkeypatch
) -> None:
    from flows.nightly import nightly

    for var in (ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT):
        monkeypatch.delenv(var, raising=False)
    _serve(httpserver, "/r/Utrecht/new/.rss", "new", etag='"new-1"')
    _serve(httpserver, "/r/Utrecht/comments/.rss", "comments", etag='"comments-1"')
    _serve(httpserver, "/search.rss", "search")  # no ETag: the newest seen keeps old items out
    config = tmp_path / "live.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 0
[reddit]
feeds_base = "{httpserver.url_for("/")}"
backoff_s = 0

[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
places = ["Lombok", "Overvecht", "Kanaleneiland"]
  [municipalities.reddit]
  mode = "feeds"
  subreddits = ["Utrecht"]
  search = ["gemeente Utrecht"]
""")
    first = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    assert first["status"] == "ok", first
    assert not any("Reddit skipped" in note for note in first["notes"])
    by_source = {s["source_key"]: s for s in first["sources"]}
    assert set(by_source) == {
        "reddit_feeds:utrecht:r/Utrecht/new",
        "reddit_feeds:utrecht:r/Utrecht/comments",
        "reddit_feeds:utrecht:search:gemeente Utrecht",
    }
    assert first["posts_new"] == 8  # 3 posts, 4 comments, 1 more post from the search (one twice)
    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("SELECT count(*), count(DISTINCT author_key) FROM posts WHERE source = 'reddit'")
        assert rows.fetchone() == (8, 4)
        voices = con.execute(
            "SELECT count(DISTINCT author_key) FROM v_voice_posts WHERE source = 'reddit' "
            "AND municipality_id = 'utrecht'"
        ).fetchone()[0]
        assert voices >= 3  # the Dutch posts' authors count as voices of Utrecht
        deleted = con.execute("SELECT count(*) FROM posts WHERE is_deleted AND author_key IS NULL").fetchone()
        assert deleted == (2,)
        first_counts = con.execute("SELECT count(*) FROM posts").fetchone()[0]

    second = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    assert second["status"] == "ok" and second["posts_new"] == 0
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == first_counts
        # no account name in any text column of any table or view
        columns = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        assert len(columns) > 20
        for table, column in columns:
            values = con.execute(f'SELECT DISTINCT lower("{column}") FROM "{table}"').fetchall()
            text = " ".join(v for (v,) in values if v)
            assert not any(n.lower() in text for n in USERNAMES), (table, column)
    # the second run asked again with the ETags it kept (the sources are collected at once: any order)
    second_run = [r for r, _ in httpserver.log][3:]
    assert sorted(r.headers.get("If-None-Match") for r in second_run if r.path != "/search.rss") == [
        '"comments-1"',
        '"new-1"',
    ]
