"""RSS and Atom against a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

import time
from pathlib import Path

import pytest
from werkzeug import Request, Response

from sources.base import SourceError
from sources.relevance import Gazetteer, GazetteerEntry
from sources.rss import RssSource
from sources.sample import SAMPLE_DIR
from warehouse.db import begin_run, connect
from warehouse.store import store_result

FEEDS = SAMPLE_DIR / "feeds"
ETAG = '"v1-domstad"'
MODIFIED = "Tue, 24 Nov 2026 08:45:00 GMT"


def test_rss_200_then_304_with_etag_and_last_modified(httpserver) -> None:
    body = (FEEDS / "domstad-nieuws.rss").read_bytes()
    seen_headers: list[dict[str, str]] = []

    def handler(request: Request) -> Response:
        seen_headers.append(dict(request.headers))
        if request.headers.get("If-None-Match") == ETAG:
            return Response(status=304, headers={"ETag": ETAG})
        return Response(
            body,
            content_type="application/rss+xml; charset=utf-8",
            headers={"ETag": ETAG, "Last-Modified": MODIFIED},
        )

    httpserver.expect_request("/feed.rss").respond_with_handler(handler)
    source = RssSource("utrecht", "Domstad Nieuws", httpserver.url_for("/feed.rss"))
    first = source.collect({})
    assert len(first.posts) == 26 and first.state == {"etag": ETAG, "last_modified": MODIFIED}
    second = source.collect(first.state)
    assert second.posts == [] and second.state == first.state
    assert seen_headers[1]["If-None-Match"] == ETAG and seen_headers[1]["If-Modified-Since"] == MODIFIED
    assert "betrokken" in seen_headers[0]["User-Agent"]


def test_rss_malformed_feed_keeps_entries_with_a_warning(httpserver) -> None:
    httpserver.expect_request("/bode.rss").respond_with_data(
        (FEEDS / "betuwe-bode.rss").read_bytes(), content_type="application/rss+xml; charset=iso-8859-1"
    )
    result = RssSource("overbetuwe", "Betuwe Bode", httpserver.url_for("/bode.rss")).collect({})
    assert len(result.posts) == 25
    assert any("not well-formed" in w for w in result.warnings)
    # the ISO-8859-1 bytes come out as proper text
    assert any("café" in (p.title or "") + p.text for p in result.posts)


def test_rss_unreadable_feed_and_http_errors_fail_the_source(httpserver) -> None:
    httpserver.expect_request("/html").respond_with_data(
        "<html><body>Onderhoud</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/gone").respond_with_data("weg", status=410)
    with pytest.raises(SourceError, match="HTML page, not a feed"):
        RssSource("utrecht", "Kapot", httpserver.url_for("/html")).collect({})
    with pytest.raises(SourceError, match="HTTP 410"):
        RssSource("utrecht", "Weg", httpserver.url_for("/gone")).collect({})


def test_rss_a_failing_feed_never_shows_the_token_or_password_in_its_address(httpserver) -> None:
    """A reason is printed, logged and stored: the feed's query string and user info stay out of it."""
    httpserver.expect_request("/private.rss").respond_with_data("weg", status=403)
    url = httpserver.url_for("/private.rss").replace("://", "://reader:hunter2@") + "?token=s3cr3t&fmt=rss"
    with pytest.raises(SourceError) as failed:
        RssSource("utrecht", "Besloten", url).collect({})
    reason = str(failed.value)
    assert "HTTP 403" in reason and "/private.rss?…" in reason
    assert not any(secret in reason for secret in ("s3cr3t", "token", "hunter2", "reader"))


# The first lines of a feed, cut off before its first item: the XML ends in the middle of <channel>.
HEADER_ONLY = (FEEDS / "domstad-nieuws.rss").read_bytes()[:200]
LAST_LINE = HEADER_ONLY.count(b"\n") + 1


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", "application/rss+xml", "empty response"),
        (b"\xef\xbb\xbf \n\t", "application/rss+xml", "empty response"),
        (b"<!DOCTYPE html><html><body>Onderhoud</body></html>", "text/html", "HTML page, not a feed"),
        (b"<!doctype html>\n<html lang=nl><p>Log in", "application/rss+xml", "HTML page, not a feed"),
        (HEADER_ONLY, "application/rss+xml", f"truncated XML at line {LAST_LINE}"),
        (b'{"items": []}', "application/json", "no RSS or Atom in the response"),
    ],
    ids=["empty", "only-whitespace", "html", "html-as-rss", "truncated-before-any-item", "json"],
)
def test_rss_a_response_that_is_not_a_feed_fails_the_source_with_one_line(
    httpserver, body: bytes, content_type: str, reason: str
) -> None:
    httpserver.expect_request("/feed").respond_with_data(body, content_type=content_type)
    with pytest.raises(SourceError) as failure:
        RssSource("utrecht", "Lokaal", httpserver.url_for("/feed")).collect({})
    assert str(failure.value) == f"Lokaal: {reason}"


def test_rss_a_feed_cut_off_after_some_items_keeps_them_and_says_where_it_ends(httpserver) -> None:
    whole = (FEEDS / "domstad-nieuws.rss").read_bytes()
    cut = whole[: len(whole) // 2]
    httpserver.expect_request("/half.rss").respond_with_data(cut, content_type="application/rss+xml")
    result = RssSource("utrecht", "Half", httpserver.url_for("/half.rss")).collect({})
    assert len(result.posts) == 13
    last_line = cut.count(b"\n") + 1
    assert result.warnings == [f"Half: truncated XML at line {last_line}; kept 13 entries before it"]


def test_rss_a_guid_listed_twice_is_one_item_and_the_run_record_says_so(httpserver, tmp_path: Path) -> None:
    # the sample feed lists dn-2026-0009 twice: 26 entries, 25 items
    httpserver.expect_request("/feed.rss").respond_with_data(
        (FEEDS / "domstad-nieuws.rss").read_bytes(), content_type="application/rss+xml"
    )
    result = RssSource("utrecht", "Domstad Nieuws", httpserver.url_for("/feed.rss")).collect({})
    gazetteer = Gazetteer([GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ())])
    with connect(tmp_path / "w.duckdb") as con:
        counts = store_result(con, result, gazetteer, begin_run(con, "live"))
        recorded = con.execute("SELECT fetched, repeated, new FROM run_sources").fetchone()
    assert len(result.posts) == 26
    assert (counts.fetched, counts.repeated, counts.new) == (25, 1, 25)
    assert recorded == (25, 1, 25)


def test_rss_slow_feed_hits_the_timeout(httpserver) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("<rss/>", content_type="application/rss+xml")

    httpserver.expect_request("/slow.rss").respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(SourceError, match="ReadTimeout"):
        RssSource("utrecht", "Traag", httpserver.url_for("/slow.rss"), timeout_s=0.3).collect({})
    assert time.monotonic() - started < 1.4


def test_rss_item_syndicated_by_another_feed_is_linked_not_counted_twice(httpserver, tmp_path: Path) -> None:
    httpserver.expect_request("/bode.rss").respond_with_data(
        (FEEDS / "betuwe-bode.rss").read_bytes(), content_type="application/rss+xml"
    )
    httpserver.expect_request("/regio.atom").respond_with_data(
        (FEEDS / "regio-gelderland-utrecht.atom").read_bytes(), content_type="application/atom+xml"
    )
    gazetteer = Gazetteer([GazetteerEntry("overbetuwe", ("Overbetuwe",), ("Elst", "Zetten", "Heteren"), ())])
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        bode = store_result(
            con,
            RssSource("overbetuwe", "Betuwe Bode", httpserver.url_for("/bode.rss")).collect({}),
            gazetteer,
            run,
        )
        regio = store_result(
            con,
            RssSource("overbetuwe", "Regio Midden", httpserver.url_for("/regio.atom")).collect({}),
            gazetteer,
            run,
        )
        assert bode.duplicate == 0 and regio.duplicate == 2
        linked = con.execute(
            "SELECT d.title, o.title FROM posts d JOIN posts o ON o.post_id = d.duplicate_of "
            "WHERE d.duplicate_kind = 'near' ORDER BY d.title"
        ).fetchall()
        assert [t for t, _ in linked] == [
            "Station Elst krijgt 400 extra fietsplekken",
            "Tumult op informatieavond over azc Elst",
        ]
        # a second run of both feeds adds nothing
        again = store_result(
            con,
            RssSource("overbetuwe", "Regio Midden", httpserver.url_for("/regio.atom")).collect({}),
            gazetteer,
            begin_run(con, "live"),
        )
        assert again.new == 0
