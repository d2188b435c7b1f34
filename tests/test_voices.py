"""One definition of a voice (the voice_posts macro of migration 010): the estimate, the labelling
loop, the report and the view count the same voices."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from warehouse.db import connect

NLP = "test-nlp"
DAY = datetime(2026, 10, 1, 12, tzinfo=UTC)


def _insert(
    con,
    post_id: str,
    *,
    author: str | None = "a",
    source: str = "reddit",
    kind: str = "comment",
    language: str = "nl",
    municipality: str | None = "utrecht",
    duplicate_of: str | None = None,
    deleted: bool = False,
    topic: str | None = None,
    when: datetime = DAY,
) -> None:
    con.execute(
        "INSERT INTO posts (post_id, source, source_key, kind, channel, created_utc, text, author_key, "
        "municipality_id, relevance, content_hash, duplicate_of, is_deleted, first_run_id, stored_at) "
        "VALUES (?, ?, 'test', ?, 'r/utrecht', ?, 'tekst', ?, ?, 'named', ?, ?, ?, 1, ?)",
        [post_id, source, kind, when, author, municipality, post_id, duplicate_of, deleted, when],
    )
    con.execute(
        "INSERT INTO enrichment VALUES (?, ?, ?, ?, 'neutral', 0.0, 'neutral', 3, ?)",
        [post_id, NLP, post_id, language, when],
    )
    if topic:
        con.execute("INSERT INTO post_topics VALUES (?, ?, ?, 0.5, [])", [post_id, NLP, topic])


def test_a_voice_is_a_resident_author_with_one_counted_post(tmp_path: Path) -> None:
    """What counts: Dutch resident posts from any resident source, with or without a topic; what
    does not: news articles, other languages, duplicates, deleted items, no municipality, another
    NLP version, days outside the period."""
    with connect(tmp_path / "w.duckdb") as con:
        con.execute(
            "INSERT INTO runs (run_id, started_at, status, mode, nlp_version) VALUES (1, ?, 'ok', 'live', ?)",
            [DAY, NLP],
        )
        _insert(con, "reddit:1", author="topicless")  # no topic: still a voice
        _insert(con, "reddit:2", author="topical", topic="wonen")
        _insert(con, "forum:1", author="forum", source="forum", kind="post")  # any resident source
        _insert(con, "rss:1", author=None, source="rss", kind="article", topic="wonen")  # news
        _insert(con, "rss:2", author="byline", source="rss", kind="article")  # an article with a byline
        _insert(con, "reddit:3", author="english", language="en")
        _insert(con, "reddit:4", author="copy", duplicate_of="reddit:2")
        _insert(con, "reddit:5", author="gone", deleted=True)
        _insert(con, "reddit:6", author="elsewhere", municipality=None)
        _insert(con, "reddit:7", author="late", when=datetime(2026, 12, 1, tzinfo=UTC))
        _insert(con, "reddit:8", author="topicless", municipality="overbetuwe")  # a second voice
        start, end = date(2026, 9, 1), date(2026, 10, 31)
        voices = con.execute(
            "SELECT municipality_id, author_key FROM voices(?, ?, ?) ORDER BY ALL", [NLP, start, end]
        ).fetchall()
        assert voices == [
            ("overbetuwe", "topicless"),
            ("utrecht", "forum"),
            ("utrecht", "topical"),
            ("utrecht", "topicless"),
        ]
        view = con.execute(
            "SELECT DISTINCT municipality_id, author_key FROM v_voice_posts WHERE day BETWEEN ? AND ? "
            "ORDER BY ALL",
            [start, end],
        ).fetchall()
        assert view == voices
        assert con.execute("SELECT count(*) FROM v_voice_posts").fetchone()[0] == 5  # no period bound
        assert con.execute("SELECT count(*) FROM v_voice_posts WHERE author_key = 'late'").fetchone()[0] == 1


@pytest.mark.parametrize("municipality", ["utrecht", "overbetuwe"])
def test_every_count_of_voices_is_the_same_number(demo_run, tmp_path: Path, municipality: str) -> None:
    """The estimate (n_voices of the all-topics, all-channels group), the labelling loop's voice
    query, the report's figures and the view give the same number for a municipality."""
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from profiles.evidence import EvidenceModel
    from profiles.model import load_model
    from warehouse.labels import period_voices
    from warehouse.report import ReportRequest, render_report

    out, _, _ = demo_run
    with connect(out / "warehouse.duckdb", read_only=True) as con:
        start, end, stored = con.execute(
            "SELECT period_start, period_end, n_voices FROM v_reach_gap WHERE municipality = ? "
            "AND topic IS NULL AND channel IS NULL ORDER BY period_end DESC LIMIT 1",
            [municipality],
        ).fetchone()
        nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
        primary_and_other = con.execute(
            "SELECT DISTINCT n_voices FROM share_estimates WHERE municipality_id = ? AND topic_id IS NULL "
            "AND channel IS NULL AND period_end = ?",
            [municipality, end],
        ).fetchall()
        view = con.execute(
            "SELECT count(DISTINCT author_key) FROM v_voice_posts WHERE municipality_id = ? "
            "AND day BETWEEN ? AND ?",
            [municipality, start, end],
        ).fetchone()[0]
        macro = con.execute(
            "SELECT count(*) FROM voices(?, ?, ?) WHERE municipality_id = ?", [nlp, start, end, municipality]
        ).fetchone()[0]
        labelling = [
            v
            for v in period_voices(con, EvidenceModel(load_model("citisens")), nlp, start, end)
            if v[1] == municipality
        ]
        html = render_report(con, ReportRequest(municipality=municipality), estimate_settings(Estimation()))
        # the posts that voices wrote without a topic or in English are what used to split the counts
        authors = con.execute(
            "SELECT count(DISTINCT author_key) FROM posts WHERE municipality_id = ? AND source = 'reddit' "
            "AND CAST(created_utc AS DATE) BETWEEN ? AND ?",
            [municipality, start, end],
        ).fetchone()[0]
    report_counted = [int(n) for n in re.findall(r"(\d+) bewonersstemmen telden mee", html)]
    report_per_source = [int(n) for n in re.findall(r"met (\d+) stemmen die meetellen", html)]
    assert primary_and_other == [(stored,)]
    assert stored == view == macro == len(labelling) == report_counted[0] == report_per_source[0], (
        stored,
        view,
        macro,
        len(labelling),
        report_counted,
        report_per_source,
    )
    assert stored >= 10 and authors >= stored


def test_report_on_a_warehouse_before_the_voice_migration_says_how_to_fix(tmp_path: Path) -> None:
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from warehouse.report import ReportError, ReportRequest, render_report

    with connect(tmp_path / "w.duckdb") as con:
        con.execute("DELETE FROM schema_migrations WHERE version >= 10")
    with connect(tmp_path / "w.duckdb", read_only=True) as con, pytest.raises(ReportError, match="migrate"):
        render_report(con, ReportRequest(), estimate_settings(Estimation()))
