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
            "SELECT count(DISTINCT author_key) FROM posts WHERE municipality_id = ? AND kind <> 'article' "
            "AND CAST(created_utc AS DATE) BETWEEN ? AND ?",
            [municipality, start, end],
        ).fetchone()[0]
        per_source = con.execute(
            "SELECT source, count(DISTINCT author_key) FROM v_voice_posts WHERE municipality_id = ? "
            "AND day BETWEEN ? AND ? GROUP BY source ORDER BY source",
            [municipality, start, end],
        ).fetchall()
    report_counted = [int(n) for n in re.findall(r"(\d+) bewonersstemmen telden mee", html)]
    report_per_source = [int(n) for n in re.findall(r"met (\d+) stemmen die meetellen", html)]
    assert primary_and_other == [(stored,)]
    assert stored == view == macro == len(labelling) == report_counted[0], (
        stored,
        view,
        macro,
        len(labelling),
        report_counted,
    )
    # the report's voices per source (Bluesky, Mastodon, Reddit in the sample) are the view's, and
    # together at least the whole: a resident heard on two platforms is one voice, counted on each
    assert [source for source, _ in per_source] == ["bluesky", "mastodon", "reddit"]
    assert report_per_source == [n for _, n in per_source] and sum(report_per_source) >= stored
    assert stored >= 10 and authors >= stored


def test_report_on_a_warehouse_before_the_voice_migration_says_how_to_fix(tmp_path: Path) -> None:
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from warehouse.report import ReportError, ReportRequest, render_report

    with connect(tmp_path / "w.duckdb") as con:
        con.execute("DELETE FROM schema_migrations WHERE version >= 10")
    with connect(tmp_path / "w.duckdb", read_only=True) as con, pytest.raises(ReportError, match="migrate"):
        render_report(con, ReportRequest(), estimate_settings(Estimation()))


def test_every_topic_group_counts_the_same_voices_everywhere(demo_run) -> None:
    """For every group of the demo (each municipality as a whole and per topic), v_reach_gap,
    `betrokken gap --json`, the report's tables and a count straight from the voices' posts give
    the same number of voices."""
    import json

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from nlp.topics import TopicMatcher
    from warehouse.report import ReportRequest, render_report

    out, _, _ = demo_run
    warehouse = out / "warehouse.duckdb"
    labels = {topic.id: topic.label for topic in TopicMatcher().topics}
    with connect(warehouse, read_only=True) as con:
        groups = con.execute(
            "SELECT DISTINCT municipality, topic, n_voices, period_start, period_end FROM v_latest_gap "
            "WHERE channel IS NULL ORDER BY municipality, topic NULLS FIRST"
        ).fetchall()
        nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
        direct = {
            (m, t): n
            for m, t, n in con.execute(
                "SELECT v.municipality_id, t.topic_id, count(DISTINCT v.author_key) "
                "FROM voice_posts($nlp, $start, $end) v "
                "JOIN post_topics t ON t.post_id = v.post_id AND t.nlp_version = $nlp GROUP BY ALL",
                {"nlp": nlp, "start": groups[0][3], "end": groups[0][4]},
            ).fetchall()
        }
        html = {
            m: render_report(con, ReportRequest(municipality=m), estimate_settings(Estimation()))
            for m in {g[0] for g in groups}
        }
    topic_groups = [g for g in groups if g[1] is not None]
    assert len(topic_groups) >= 4 and len({g[0] for g in groups}) == 2
    runner = CliRunner()
    shown_topics = 0
    for municipality, topic, n_voices, _, _ in groups:
        args = ["gap", "--warehouse", str(warehouse), "--municipality", municipality, "--json"]
        result = runner.invoke(app, args + (["--topic", topic] if topic else []))
        assert result.exit_code == 0, result.output
        assert {r["n_voices"] for r in json.loads(result.output)} == {n_voices}, (municipality, topic)
        if topic is None:
            assert f"{n_voices} bewonersstemmen telden mee" in html[municipality]
            continue
        assert direct.get((municipality, topic), 0) == n_voices, (municipality, topic)
        who_speaks = html[municipality].split("<h4>Wie praat erover mee</h4>")[1].split("</table>")[0]
        shown = re.search(rf'<tr><td>{re.escape(labels[topic])}</td><td class="num">(\d+)</td>', who_speaks)
        if shown:  # the report shows the municipality's busiest topics
            assert int(shown.group(1)) == n_voices, (municipality, topic)
            shown_topics += 1
    assert shown_topics >= 2


def test_the_latest_gap_is_each_municipalitys_newest_period_with_its_advice(tmp_path: Path) -> None:
    """v_latest_gap: per municipality the newest estimated period only, and on every absent or
    under-represented profile the advice stored for it (an empty list elsewhere)."""
    rows = [
        # municipality, period_end, profile, status
        ("utrecht", date(2026, 10, 1), "stil", "under"),
        ("utrecht", date(2026, 11, 1), "stil", "absent"),
        ("utrecht", date(2026, 11, 1), "luid", "over"),
        ("ede", date(2026, 9, 1), "stil", "proportional"),
    ]
    with connect(tmp_path / "w.duckdb") as con:
        for municipality, end, profile, status in rows:
            key = f"{municipality}|{end}|*|*|citisens"
            con.execute(
                "INSERT INTO share_estimates (group_key, run_id, municipality_id, period_start, period_end, "
                "topic_id, channel, profile_model, profile_id, profile_name, method, is_primary, n_voices, "
                "n_voices_with_evidence, population_share, population_share_is_assumption, status) "
                "VALUES (?, 1, ?, ?, ?, NULL, NULL, 'citisens', ?, ?, 'bayes', true, 40, 40, 0.1, false, ?)",
                [key, municipality, end, end, profile, profile.title(), status],
            )
            if status in ("absent", "under"):
                con.execute(
                    "INSERT INTO gap_advice VALUES (?, ?, 'channel', ?, NULL, true)",
                    [key, profile, f"advies {end}"],
                )
        latest = con.execute(
            "SELECT municipality, period_end, profile_id, status, advice FROM v_latest_gap ORDER BY ALL"
        ).fetchall()
    assert latest == [
        ("ede", date(2026, 9, 1), "stil", "proportional", []),
        ("utrecht", date(2026, 11, 1), "luid", "over", []),
        (
            "utrecht",
            date(2026, 11, 1),
            "stil",
            "absent",
            [{"aspect": "channel", "text": "advies 2026-11-01", "source": None, "assumption": True}],
        ),
    ]
