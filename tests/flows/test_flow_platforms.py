"""The nightly flow with only self-service access: Bluesky (an app password), Mastodon (no token)
and Reddit's public feeds (no API app), all three on one local server, run twice; and with one
platform refusing its login, the other two still land."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from sources.bluesky import ENV_APP_PASSWORD, ENV_HANDLE
from sources.mastodon import token_env
from sources.reddit import ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT
from tests.flows.test_flow_reddit_feeds import USERNAMES, _serve
from tests.sources.test_bluesky import APP_PASSWORD, AUTHORS, HANDLE, FakeBluesky, _scan_text_columns, corpus
from tests.sources.test_mastodon import PEOPLE, FakeInstance, status

AS_OF = date(2026, 11, 25)
MASTODON_TEXTS = [
    "De gemeente wil meer groen in Overvecht, goed plan",
    "Het nieuwe fietspad langs de Vaartsche Rijn is prachtig",
    "Te weinig betaalbare woningen in Leidsche Rijn voor starters",
    "Afvalcontainers in Kanaleneiland worden veel te laat geleegd",
]


@pytest.fixture
def platforms(httpserver, tmp_path: Path, monkeypatch) -> tuple[Path, FakeBluesky]:
    """One server speaking all three platforms, and a configuration of Utrecht that reads them."""
    bluesky = FakeBluesky(httpserver, corpus())
    mastodon = FakeInstance(httpserver)
    accounts = ["kees_fietst", "marieke_zuilen@social.example"]
    mastodon.tags["utrecht"] = [
        status(n, accounts[n % 2], text=text) for n, text in enumerate(MASTODON_TEXTS, start=1)
    ]
    _serve(httpserver, "/r/Utrecht/new/.rss", "new", etag='"new-1"')
    _serve(httpserver, "/r/Utrecht/comments/.rss", "comments", etag='"comments-1"')
    _serve(httpserver, "/search.rss", "search")
    for var in (ENV_CLIENT_ID, ENV_SECRET, ENV_USER_AGENT, token_env(mastodon.url)):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(ENV_HANDLE, HANDLE)
    monkeypatch.setenv(ENV_APP_PASSWORD, APP_PASSWORD)
    config = tmp_path / "platforms.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 0
[reddit]
feeds_base = "{httpserver.url_for("/")}"
backoff_s = 0
[bluesky]
service = "{bluesky.service}"
backoff_s = 0
[mastodon]
backoff_s = 0

[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
places = ["Lombok", "Overvecht", "Kanaleneiland", "Leidsche Rijn", "Merwedekanaal", "Vaartsche Rijn"]
  [municipalities.reddit]
  mode = "feeds"
  subreddits = ["Utrecht"]
  search = ["gemeente Utrecht"]
  [municipalities.bluesky]
  search = ["Overvecht", "Utrecht"]
  [municipalities.mastodon]
  instance = "{mastodon.url}"
  hashtags = ["utrecht"]
""")
    return config, bluesky


def _voices_per_source(warehouse: Path) -> dict[str, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT source, count(DISTINCT author_key) FROM v_voice_posts "
            "WHERE municipality_id = 'utrecht' GROUP BY source"
        ).fetchall()
    return dict(rows)


def test_three_platforms_with_self_service_access_give_voices_and_a_rerun_adds_nothing(
    prefect_harness, platforms, tmp_path: Path, caplog, capfd
) -> None:
    import logging

    from flows.nightly import nightly
    from warehouse.db import table_counts

    caplog.set_level(logging.DEBUG)
    config, _ = platforms
    first = nightly(config_path=str(config), mode="live", as_of=AS_OF)
    assert first["status"] == "ok", first
    assert first["notes"] == []  # nothing skipped for want of credentials
    warehouse = tmp_path / "w.duckdb"
    voices = _voices_per_source(warehouse)
    assert set(voices) == {"reddit", "bluesky", "mastodon"} and min(voices.values()) >= 2, voices
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = table_counts(con)
        signalled = con.execute(
            "SELECT DISTINCT p.source FROM post_signals s JOIN posts p USING (post_id)"
        ).fetchall()
    assert {s for (s,) in signalled} == {"reddit", "bluesky", "mastodon"}  # evidence on every platform
    report = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert all(source in report for source in ("bluesky", "mastodon", "reddit"))

    second = nightly(config_path=str(config), mode="live", as_of=AS_OF)
    assert second["status"] == "ok" and second["posts_new"] == 0 and second["posts_enriched"] == 0
    with duckdb.connect(str(warehouse), read_only=True) as con:
        after = table_counts(con)
        for table in ("posts", "enrichment", "post_topics", "post_signals"):
            assert after[table] == counts[table], table
        people = [v for a in AUTHORS for v in (a["did"], a["handle"], a["displayName"])]
        people += [*PEOPLE, *PEOPLE.values(), *USERNAMES, HANDLE, APP_PASSWORD]
        assert _scan_text_columns(con, people) == []
    # nor any copy made for people to read: the report, the researchers' snapshot and export, the logs
    with duckdb.connect(str(tmp_path / "w.snapshot.duckdb"), read_only=True) as snapshot:
        assert _scan_text_columns(snapshot, people) == []
    exported = sorted((tmp_path / "export").rglob("*.parquet"))
    assert exported
    read = ""
    with duckdb.connect() as con:
        for path in exported:  # every column of every file, as text (Parquet compresses its strings)
            text = con.execute(f"SELECT lower(string_agg(CAST(COLUMNS(*) AS VARCHAR), ' ')) FROM '{path}'")
            found = " ".join(str(v) for v in text.fetchone() if v)
            assert not [p for p in people if p.lower() in found], path
            read += found
    assert "overvecht" in read and "bsky:search:" in read  # the scan reads the posts' text and channels
    shown = (tmp_path / "report.html").read_text(encoding="utf-8") + caplog.text + "".join(capfd.readouterr())
    assert not [p for p in people if p.lower() in shown.lower()]


def test_a_platform_that_refuses_its_login_is_reported_and_the_others_land(
    prefect_harness, platforms, tmp_path: Path, monkeypatch
) -> None:
    from flows.nightly import nightly

    config, bluesky = platforms
    monkeypatch.setenv(ENV_APP_PASSWORD, "wrong-password-1234")
    summary = nightly(config_path=str(config), mode="live", as_of=AS_OF)
    assert summary["status"] == "partial"
    failed = [s for s in summary["sources"] if s["status"] == "failed"]
    assert [s["source_key"] for s in failed] == ["bluesky:utrecht"]
    assert failed[0]["reason"] and "wrong-password-1234" not in failed[0]["reason"]
    assert set(_voices_per_source(tmp_path / "w.duckdb")) == {"reddit", "mastodon"}
    assert bluesky.logins  # it was asked, and said no


def test_an_erasure_request_names_a_bluesky_or_mastodon_item_by_its_own_address(
    prefect_harness, platforms, tmp_path: Path
) -> None:
    """Their items are stored under a keyed hash of the URI; `forget --source-id` takes the
    at:// URI of a Bluesky post, or the address (or URI) of a Mastodon status, as a person has it."""
    from typer.testing import CliRunner

    from flows.cli import app
    from flows.nightly import nightly
    from sources.bluesky_mapping import item_id
    from sources.mastodon_mapping import post_id
    from sources.pseudonym import Pseudonymiser, load_key
    from sources.registry import stored_id

    config, _ = platforms
    assert nightly(config_path=str(config), mode="live", as_of=AS_OF)["status"] == "ok"
    warehouse = tmp_path / "w.duckdb"
    pseudonymiser = Pseudonymiser(load_key(tmp_path / "betrokken.key"))
    bluesky_uri = corpus()[0]["uri"]
    mastodon_status = status(1, "marieke_zuilen@social.example", text=MASTODON_TEXTS[0])
    stored = [item_id(bluesky_uri, pseudonymiser), post_id(mastodon_status["uri"], pseudonymiser)]
    # the Bluesky app's address of the post names the same stored item as its at:// URI
    did, rkey = bluesky_uri.removeprefix("at://").split("/app.bsky.feed.post/")
    assert stored_id(f"https://bsky.app/profile/{did}/post/{rkey}", pseudonymiser) == stored[0]
    for reference, item in zip((bluesky_uri, mastodon_status["url"]), stored, strict=True):
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM posts WHERE post_id = ?", [item]).fetchone()[0] == 1
        result = CliRunner().invoke(app, ["forget", "--source-id", reference, "--warehouse", str(warehouse)])
        assert result.exit_code == 0, result.output
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM posts WHERE post_id = ?", [item]).fetchone()[0] == 0
            assert con.execute("SELECT count(*) FROM erased_items WHERE post_id = ?", [item]).fetchone()[0]
    # a request that cannot be matched, or matches nothing, says so and exits non-zero: an erasure
    # request is never closed by mistake
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = con.execute("SELECT count(*) FROM posts").fetchone()[0]
    for reference, code in (
        ("https://bsky.app/profile/bewoner0.bsky.social/post/3kpost0000000", 2),  # a handle, not the DID
        (bluesky_uri, 1),  # erased above: nothing left to erase
        ("reddit:t1_nietbestaand", 1),
    ):
        result = CliRunner().invoke(app, ["forget", "--source-id", reference, "--warehouse", str(warehouse)])
        assert result.exit_code == code, (reference, result.output)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts").fetchone()[0] == before
