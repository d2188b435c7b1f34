"""The report a communication team reads: drawn from the warehouse alone, in Dutch or English, and
checked in real headless Chromium (no console errors, no network, charts drawn, post text inert)."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from markupsafe import escape
from typer.testing import CliRunner

from flows.cli import app

HOSTILE = "<script>document.title='pwned'</script><img src=x onerror=alert(1)> Nieuw parkeerbeleid"
SECTION_IDS = ["samenvatting", "bereikkloof", "advies", "onderwerpen", "bronnen", "methode"]


def _add_article(
    con: duckdb.DuckDBPyConnection,
    post_id: str,
    title: str,
    at: datetime,
    topics: list[tuple[str, float, list]],
) -> None:
    """A news article of Utrecht in the warehouse, enriched under the current NLP version with the
    given (topic, score, words that fired)."""
    nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
    con.execute(
        "INSERT INTO posts (post_id, source, source_key, kind, channel, created_utc, title, text, "
        "municipality_id, relevance, content_hash, first_run_id, stored_at) VALUES "
        "(?, 'rss', 'rss:utrecht:test', 'article', 'Testkrant', ?, ?, ?, 'utrecht', 'named', ?, 1, ?)",
        [post_id, at, title, title, post_id, datetime.now(UTC)],
    )
    con.execute(
        "INSERT INTO enrichment VALUES (?, ?, 'x', 'nl', 'neutral', 0.0, 'neutral', 5, ?)",
        [post_id, nlp, datetime.now(UTC)],
    )
    for topic, score, words in topics:
        con.execute("INSERT INTO post_topics VALUES (?, ?, ?, ?, ?)", [post_id, nlp, topic, score, words])


def _top_topics(con: duckdb.DuckDBPyConnection, municipality: str = "utrecht") -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT topic_id FROM v_topic_daily WHERE municipality_id = ? "
            "GROUP BY ALL ORDER BY sum(n_posts) DESC, topic_id LIMIT 3",
            [municipality],
        ).fetchall()
    ]


@pytest.fixture(scope="module")
def warehouse(demo_run, tmp_path_factory) -> Path:
    """A copy of the demo warehouse with one news article whose title and text carry markup."""
    out, _, _ = demo_run
    path = tmp_path_factory.mktemp("report") / "warehouse.duckdb"
    shutil.copy(out / "warehouse.duckdb", path)
    with duckdb.connect(str(path)) as con:
        top_topic = _top_topics(con)[0]
        _add_article(
            con,
            "rss:hostile",
            HOSTILE,
            datetime(2026, 11, 25, 12, tzinfo=UTC),
            [(top_topic, 1.0, ["parkeerbeleid"])],
        )
    return path


def _report(warehouse: Path, out: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["report", "--warehouse", str(warehouse), "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out.read_text(encoding="utf-8")


def test_report_has_six_sections_in_dutch_by_default(warehouse: Path, tmp_path: Path) -> None:
    html = _report(warehouse, tmp_path / "r.html")
    assert '<html lang="nl">' in html
    assert "dutch-names" not in html
    assert re.findall(r'<section id="([a-z]+)">', html) == SECTION_IDS
    assert "Wie nog bereiken, en hoe" in html and "Methode en kanttekeningen" in html
    assert html.count("<h3>Utrecht</h3>") >= 4 and html.count("<h3>Overbetuwe</h3>") >= 4
    assert "<script" not in html  # self-contained and script-free: nothing to load, nothing to run
    assert "http://" not in html.replace("http://www.w3.org", "")  # no external resource
    assert "&lt;script&gt;document.title=" in html  # the hostile title is escaped


def test_report_in_english_for_one_municipality_and_another_period(warehouse: Path, tmp_path: Path) -> None:
    html = _report(
        warehouse, tmp_path / "r.html", "--lang", "en", "--municipality", "utrecht", "--period", "30d"
    )
    assert '<html lang="en">' in html
    assert "Whom to reach, and how" in html and "Samenvatting" not in html
    assert "<h3>Overbetuwe</h3>" not in html
    # topic names in English; the profile model's Dutch names are said to be Dutch
    from nlp.topics import TopicMatcher
    from warehouse.report import messages

    en = messages()["en"]
    assert html.count('class="meta dutch-names"') == 1 and escape(en["dutch_names"]) in html
    cells = set(re.findall(r"<td>([^<]+)</td>", html))
    for topic in TopicMatcher().topics:
        assert topic.label not in cells or topic.label == en[f"topic_{topic.id}"], topic.label
    assert {en[f"topic_{t.id}"] for t in TopicMatcher().topics} & cells
    # the demo estimated 90 days; 30 days is estimated in memory and ends on the same as-of date
    assert "Period 2026-10-27 to 2026-11-25." in html
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.execute(
            "SELECT count(*) FROM share_estimates WHERE period_start = DATE '2026-10-27'"
        ).fetchone()[0]
    assert stored == 0  # the report wrote nothing to the warehouse


def _summary_of(html: str, name: str) -> str:
    """The summary section's part about one municipality."""
    summary = html[html.index('<section id="samenvatting">') : html.index('<section id="bereikkloof">')]
    start = summary.index(f"<h3>{name}</h3>")
    end = summary.find("<h3>", start + 1)
    return summary[start : end if end != -1 else len(summary)]


def _overall(con: duckdb.DuckDBPyConnection, municipality: str, days: int) -> dict[str, tuple[str, str, str]]:
    """{profile_id: (name, status, reason)} of the primary estimate over all topics and channels
    for the period of ``days`` ending on the demo's day, computed in memory as the report does."""
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from profiles.evidence import evidence_for
    from profiles.model import load_model
    from warehouse.estimates import compute_estimates, period_for

    end = con.execute("SELECT max(period_end) FROM share_estimates").fetchone()[0]
    nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
    evidence = evidence_for(load_model("citisens"))  # the default evidence, as the demo's
    settings = estimate_settings(Estimation())
    estimates = compute_estimates(con, municipality, evidence, nlp, period_for(end, days), settings, run_id=0)
    return {
        r["profile_id"]: (r["profile_name"], r["status"], r["status_reason"])
        for r in estimates.share_records()
        if r["topic_id"] is None and r["channel"] is None and r["is_primary"]
    }


def _direction(status: str) -> str:
    return "fewer" if status in ("absent", "under") else status


KNOWN = ("absent", "under", "proportional", "over")
RANGE = re.compile(r'^\S+–\S+ <span class="estimate">\((schatting|estimate) [^)]+\)</span>$')


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_report_says_what_is_known_and_why_the_rest_is_unknown(
    warehouse: Path, tmp_path: Path, lang: str
) -> None:
    """Unknown rows say why; the summary names only known statuses, counts the unknown ones by
    reason, says which period it holds for, and warns for every profile whose finding differs
    between 30 and 90 days; no share stands bare outside its interval."""
    from warehouse.report import messages

    t = messages()[lang]
    html = _report(warehouse, tmp_path / "r.html", "--lang", lang)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        statuses = {m: (_overall(con, m, 90), _overall(con, m, 30)) for m in ("utrecht", "overbetuwe")}
    for municipality, (at90, at30) in statuses.items():
        summary = _summary_of(html, municipality.capitalize())
        assert "2026-08-28" in summary and "(90 " in summary  # the period the findings hold for
        findings = summary[summary.index('<div class="note findings">') :]
        unknown = [v for v in at90.values() if v[1] == "unknown"]
        assert unknown, "the demo has profiles its data cannot tell"
        known_part, unknown_note = findings.split('class="unknown-note">')
        assert re.search(rf"\b{len(unknown)}\b", unknown_note.split("</p>")[0])
        for reason in {v[2] for v in unknown}:
            assert t["unknown_" + reason].split("}", 1)[1][:20] in unknown_note
        for name, status, _ in at90.values():  # a profile is named only with a known status
            assert (name in known_part) == (status in KNOWN), (name, status)
        differ = {
            at90[p][0]
            for p in at90
            if _direction(at90[p][1]) != _direction(at30[p][1])
            and (at90[p][1] in KNOWN or at30[p][1] in KNOWN)
        }
        assert set(re.findall(r"<li><strong>([^<]+)</strong>:", summary)) == differ, municipality
        assert (t["period_warning"][:30] in summary) == bool(differ)
    gap = html[html.index('<section id="bereikkloof">') : html.index('<section id="advies">')]
    readings = {f"{t['status_unknown']} ({t['reason_' + r]})" for r in ("few_voices", "little_evidence")}
    cells = re.findall(r'<td class="status-unknown"[^>]*>([^<]*)</td>', gap)
    assert cells and set(cells) <= readings
    rows = re.findall(r'<tr>\s*<td class="profile">.*?</tr>', gap, re.S)
    assert len(rows) == 16
    for row in rows:
        _, online, index, compare = re.findall(r'<td class="num"[^>]*>(.*?)</td>', row)
        assert RANGE.match(online) and RANGE.match(index) and RANGE.match(compare), row


def test_proportional_only_inside_the_band_on_the_demo(warehouse: Path, tmp_path: Path, monkeypatch) -> None:
    """No row reads "naar verhouding" while its index interval reaches below 0.5 or above 2: not in
    the warehouse, not in `betrokken gap`, not in the report; unknown rows carry their reason."""
    import json

    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("SELECT status, status_reason, ri_lower, ri_upper FROM share_estimates").fetchall()
    reasons = {"unknown": {"few_voices", "little_evidence"}, "suppressed": {"few_voices"}}
    assert rows
    for status, reason, low, high in rows:
        assert reason in reasons.get(status, {None}), (status, reason)
        if status == "proportional":
            assert low >= 0.67 and high <= 1.5
    runner = CliRunner()
    gap = json.loads(runner.invoke(app, ["gap", "--warehouse", str(warehouse), "--json"]).output)
    assert gap and all("status_reason" in r for r in gap)
    wide = [r for r in gap if r["status"] == "proportional" and (r["ri_lower"] < 0.5 or r["ri_upper"] > 2)]
    assert wide == []
    from flows import cli

    monkeypatch.setattr(cli.console, "width", 250)  # one line per row
    table = runner.invoke(app, ["gap", "--warehouse", str(warehouse)]).output
    for r in gap:
        if r["status"] == "unknown":
            assert f"unknown ({r['status_reason'].replace('_', ' ')})" in table
    html = _report(warehouse, tmp_path / "r.html")
    for row in re.findall(r"<tr>.*?</tr>", html, re.S):
        if re.search(r'<td class="status-proportional"[^>]*>naar verhouding</td>', row):
            low, high = re.findall(r"([0-9.]+)–([0-9.]+) <span", row)[1]
            assert float(low) >= 0.5 and float(high) <= 2


def test_report_command_rejects_bad_options_clearly(warehouse: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["report", "--warehouse", str(warehouse), "--out", str(tmp_path / "r.html")]
    result = runner.invoke(app, [*base, "--municipality", "atlantis"])
    assert result.exit_code == 1 and "unknown municipality 'atlantis'" in result.output
    assert runner.invoke(app, [*base, "--lang", "fr"]).exit_code == 2
    assert runner.invoke(app, [*base, "--period", "3 weeks"]).exit_code == 2
    missing = runner.invoke(app, ["report", "--warehouse", str(tmp_path / "none.duckdb")])
    assert missing.exit_code == 1 and "no warehouse here" in missing.output
    assert not (tmp_path / "r.html").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def _browser() -> Iterator[Any]:
    """Debian's chromium driven by playwright (no browser download); skips where either is missing."""
    chromium = _chromium()
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make test installs it where apt-get can)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield browser
        finally:
            browser.close()


def test_report_in_headless_chromium(warehouse: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.html"
    _report(warehouse, report)
    console: list[str] = []
    requests: list[str] = []
    with _browser() as browser:
        page = browser.new_page()
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.as_uri(), wait_until="load")
        assert [e for e in console if e.startswith(("error", "pageerror"))] == []
        assert requests == [report.as_uri()]  # the file itself, nothing fetched over the network
        assert page.locator("section h2").count() == 6
        charts = page.locator("figure.chart")
        assert charts.count() >= 6  # gap, volume and sentiment chart for each municipality
        for i in range(charts.count()):
            svg = charts.nth(i).locator("svg")
            assert svg.count() == 1 and svg.bounding_box()["width"] > 100
        headline = page.locator("blockquote.headline", has_text="Nieuw parkeerbeleid")
        assert "<script>document.title='pwned'</script>" in headline.inner_text()
        assert page.locator("script").count() == 0 and page.locator("img").count() == 0
        assert page.title() != "pwned"
        # the point estimate is drawn lighter and smaller than the interval it sits in
        estimate = page.locator("#bereikkloof td .estimate").first
        own, parent = estimate.evaluate(
            "e => [e, e.parentElement].map(x => [getComputedStyle(x).color, "
            "parseFloat(getComputedStyle(x).fontSize)])"
        )
        assert own[0] != parent[0] and own[1] < parent[1]
        unknown = page.locator("#bereikkloof td.status-unknown").first.inner_text()
        assert re.fullmatch(r"onbekend \(te weinig (stemmen|bewijs)\)", unknown)
        page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        page.pdf(path=str(tmp_path / "report.pdf"))
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


def _pdf_lines(path: Path) -> list[list[str]]:
    """Each page's lines of text, top to bottom (pieces of text at the same height joined)."""
    pypdf = pytest.importorskip("pypdf", reason="pypdf is in the test extra")
    pages = []
    for page in pypdf.PdfReader(path).pages:
        pieces: list[tuple[float, float, str]] = []

        def visit(text: str, cm: list[float], tm: list[float], *_: Any, into=pieces) -> None:
            if text.strip():  # the piece's origin on the page: its text matrix times the page's
                y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                into.append((-round(y), tm[4] * cm[0] + tm[5] * cm[2] + cm[4], text))

        page.extract_text(visitor_text=visit)
        lines: dict[int, list[str]] = {}
        for y, _, text in sorted(pieces):
            lines.setdefault(y, []).append(text)
        # NFKC: Chromium writes ligatures ("ﬁ" in "profiel") that the HTML does not have
        pages.append([" ".join(unicodedata.normalize("NFKC", "".join(p)).split()) for p in lines.values()])
    return pages


def test_printed_report_starts_each_section_on_a_new_page(warehouse: Path, tmp_path: Path) -> None:
    """Printed (A4, Chromium's print to PDF): every section after the summary starts a page, no
    heading is the last line of a page, and the collapsed weekly tables are printed open."""
    from warehouse.report import messages

    t = messages()["nl"]
    report, pdf = tmp_path / "report.html", tmp_path / "report.pdf"
    _report(warehouse, report)
    with _browser() as browser:
        page = browser.new_page()
        page.goto(report.as_uri(), wait_until="load")
        headings = set(page.locator("h2, h3, h4, summary").all_inner_texts())
        weekly = page.locator("details:not([open]) tbody tr").evaluate_all(
            "rows => rows.map(r => [...r.cells].map(c => c.textContent.trim()).join(' '))"
        )
        page.pdf(path=str(pdf), format="A4")
    pages = _pdf_lines(pdf)
    assert t["s1"] in pages[0]
    for title in [t[f"s{i}"] for i in range(2, 7)]:
        assert [p[0] for p in pages if title in p] == [title], title  # once, at the top of its page
    assert [p[-1] for p in pages if p[-1] in headings] == []
    assert weekly and set(weekly) <= {line for p in pages for line in p}


def test_report_on_a_phone(warehouse: Path, tmp_path: Path) -> None:
    """390 px wide: the page does not scroll sideways (a wide table scrolls in its own box), the
    gap table's status and the sources' status are on screen, and no chart text is under 10 px."""
    report = tmp_path / "report.html"
    _report(warehouse, report)
    with _browser() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(report.as_uri(), wait_until="load")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        status = page.locator('#bereikkloof td[class^="status-"], #bronnen tbody td:nth-child(2)')
        assert status.count() > 16
        for box in status.evaluate_all("cells => cells.map(c => c.getBoundingClientRect().toJSON())"):
            assert box["left"] >= 0 and box["right"] <= 390, box
        sizes = page.locator("figure.chart svg text").evaluate_all(
            "texts => texts.map(e => { const m = e.getScreenCTM(); "
            "return parseFloat(getComputedStyle(e).fontSize) * Math.hypot(m.a, m.b); })"
        )
        assert sizes and min(sizes) >= 9.99


def test_period_table_counts_what_the_direct_joins_count(warehouse: Path) -> None:
    """The report's statements over report_topic_posts give the rows of the direct joins of posts,
    enrichment and post_topics they replace."""
    from warehouse.report import queries as report

    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
        end = con.execute("SELECT max(CAST(created_utc AS DATE)) FROM posts").fetchone()[0]
        period = {"start": end.replace(day=1).replace(month=max(1, end.month - 2)), "end": end}
        ms = [r[0] for r in con.execute("SELECT municipality_id FROM municipalities").fetchall()]
        bound = con.execute(report.ENRICHED_FROM_SQL, {"ms": ms, **period}).fetchone()[0]
        con.execute(report.TOPIC_POSTS_SQL, {"ms": ms, **period, "nlp": nlp, "enriched_from": bound})
        joins = """FROM posts p JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = $nlp
                    JOIN post_topics t ON t.post_id = p.post_id AND t.nlp_version = $nlp
                    WHERE p.municipality_id = $m AND p.duplicate_of IS NULL AND NOT p.is_deleted
                      AND CAST(p.created_utc AS DATE) BETWEEN $start AND $end"""
        for m in ms:
            params = {"m": m, **period}
            topics = report.records(con, report.TOPICS_SQL, params)
            direct = report.records(
                con,
                "SELECT t.topic_id, count(*) AS n_posts, avg(e.sentiment_score) AS mean_score, "
                "count(*) FILTER (WHERE e.sentiment = 'negative') AS n_negative, "
                "count(*) FILTER (WHERE e.sentiment = 'neutral') AS n_neutral, "
                "count(*) FILTER (WHERE e.sentiment = 'positive') AS n_positive "
                f"{joins} GROUP BY ALL ORDER BY n_posts DESC, t.topic_id",
                {**params, "nlp": nlp},
            )
            assert topics and [{**r, "mean_score": pytest.approx(r["mean_score"])} for r in direct] == topics
            top = [r["topic_id"] for r in topics[:6]]
            weekly = report.records(con, report.WEEKLY_SQL, {**params, "top": top})
            direct = report.records(
                con,
                "SELECT t.topic_id, CAST(date_trunc('week', p.created_utc) AS DATE) AS week, "
                f"count(*) AS n_posts, avg(e.sentiment_score) AS mean_score {joins} "
                "AND list_contains($top, t.topic_id) GROUP BY ALL ORDER BY week, t.topic_id",
                {**params, "nlp": nlp, "top": top},
            )
            assert [{**r, "mean_score": pytest.approx(r["mean_score"])} for r in direct] == weekly


def test_a_share_never_reads_zero_unless_it_is_zero() -> None:
    from warehouse.report import _pct

    assert [_pct(v) for v in (None, 0.0, 0.004, 0.005, 0.0051, 0.2)] == ["–", "0%", "<1%", "<1%", "1%", "20%"]


def test_report_shows_the_advice_the_warehouse_stored(demo_run, tmp_path: Path) -> None:
    """The advice section reads gap_advice, the rows stored with the estimate, not the profile
    model's file again: what a researcher finds in the warehouse is what the report says."""
    out, _, _ = demo_run
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(out / "warehouse.duckdb", path)
    with duckdb.connect(str(path)) as con:
        changed = con.execute(
            "UPDATE gap_advice SET advice = 'Opgeslagen: ' || advice "
            "WHERE group_key IN (SELECT group_key FROM v_reach_gap WHERE topic IS NULL AND channel IS NULL)"
        ).fetchone()[0]
    assert changed >= 1
    html = _report(path, tmp_path / "r.html")
    advice = html.split('<section id="advies">')[1].split("</section>")[0]
    assert advice.count("Opgeslagen: ") == changed


def test_sentiment_chart_leaves_out_thin_weeks_and_writes_n_beside_each_point() -> None:
    """A week with fewer posts than the minimum is not drawn and breaks its topic's line; each point
    drawn has its number of posts beside it; nothing to draw gives no chart."""
    from datetime import date, timedelta

    from warehouse.report import messages
    from warehouse.report.charts import MIN_WEEK_POSTS, sentiment_chart

    t = messages()["nl"]
    monday = date(2026, 9, 7)
    counts = [MIN_WEEK_POSTS - 1, MIN_WEEK_POSTS, MIN_WEEK_POSTS + 4, 1, MIN_WEEK_POSTS + 1]
    rows = [
        {"week": monday + timedelta(weeks=i), "label": "Wonen", "n_posts": n, "mean_score": 0.1 * i}
        for i, n in enumerate(counts)
    ]
    svg = sentiment_chart(rows, t)
    points = re.findall(
        r'aria-label="week: (\d\d-\d\d); [^"]*" role="graphics-symbol" aria-roledescription="point"', svg
    )
    assert points == ["14-09", "21-09", "05-10"]
    labels = re.findall(r'aria-roledescription="text mark"[^>]*>(\d+)</text>', svg)
    assert labels == [str(n) for n in counts if n >= MIN_WEEK_POSTS]
    assert svg.count('aria-roledescription="line mark"') == 2  # 28-09 is left out: two pieces of line
    assert f"minder dan {MIN_WEEK_POSTS} berichten" in svg
    assert sentiment_chart([{**r, "n_posts": 1} for r in rows], t) is None


def test_a_headline_goes_under_its_best_topic_only(warehouse: Path, tmp_path: Path) -> None:
    """An article with several topics is quoted once, under its best one: the highest score, on a
    tie the topic with fewer words mentioned in passing (weak words); an article whose best topic
    stays under MAIN_TOPIC_SCORE (one word per topic) is quoted under none."""
    from nlp.topics import MAIN_TOPIC_SCORE, TopicMatcher, topic_score

    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse, path)
    matcher = TopicMatcher()
    labels = {topic.id: topic.label for topic in matcher.topics}
    weak = "fiets"
    assert weak in matcher.weak
    at = datetime(2026, 11, 25, 13, tzinfo=UTC)  # the newest articles: each topic quotes its two newest
    with duckdb.connect(str(path)) as con:
        # by id alone the weak words' topic would win the tie
        (first, second), third = sorted(_top_topics(con)[:2]), _top_topics(con)[2]
        # scores in a news item of some 40 words (title and summary): a topic with two words and
        # no other topic, and each of two topics with one word
        one, two = topic_score(1, 0.5, 40), topic_score(2, 1.0, 40)
        _add_article(
            con,
            "rss:tie",
            "Extra trams en een stalling",
            at,
            [
                (first, two, [weak, "stallingsruimte"]),
                (second, two, ["halte", "tram"]),
                (third, one, ["park"]),
            ],
        )
        _add_article(
            con,
            "rss:passing",
            "Een tram langs het park",
            at,
            [(first, one, ["tram"]), (second, one, ["park"])],
        )
    assert one < MAIN_TOPIC_SCORE <= two
    html = _report(path, tmp_path / "r.html", "--municipality", "utrecht")
    quoted = re.findall(
        r'<blockquote class="headline"><span class="meta">([^·<]+) ·[^<]*</span><br>([^<]*)<', html
    )
    assert [label.strip() for label, text in quoted if text == "Extra trams en een stalling"] == [
        labels[second]
    ]
    assert [label for label, text in quoted if text == "Een tram langs het park"] == []


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_counts_take_the_singular_for_one_and_the_plural_otherwise(
    warehouse: Path, tmp_path: Path, lang: str
) -> None:
    """No "redactie(s)": each counted word of the report agrees with its number."""
    from warehouse.report import Counted, messages

    forms = messages()[lang]["counted"]
    for one, many in forms.values():
        assert f"{Counted(1, forms):{_key(forms, one)}}" == f"1 {one}"
        assert f"{Counted(0, forms):{_key(forms, one)}}" == f"0 {many}"
        assert f"{Counted(12, forms):{_key(forms, one)}}" == f"12 {many}"
    html = _report(warehouse, tmp_path / "r.html", "--lang", lang)
    assert "(s)" not in html.replace("Duur (s)", "").replace("Time (s)", "")
    counted = re.findall(
        r"\b(\d+) (" + "|".join(re.escape(w) for pair in forms.values() for w in pair) + r")\b", html
    )
    assert counted  # the summary counts posts, voices and newsrooms
    for number, word in counted:
        singulars = {one for one, _ in forms.values()}
        assert (word in singulars) == (number == "1"), (number, word)


def _key(forms: dict[str, list[str]], one: str) -> str:
    return next(key for key, (singular, _) in forms.items() if singular == one)


def test_every_topic_has_an_english_name() -> None:
    from nlp.topics import TopicMatcher
    from warehouse.report import messages

    en = messages()["en"]
    assert [t.id for t in TopicMatcher().topics if not en.get(f"topic_{t.id}")] == []


@pytest.mark.parametrize("model_id", ["citisens", "burgerschapsstijlen"])
def test_what_the_report_quotes_from_a_profile_model_is_dutch(enricher, model_id: str) -> None:
    """The Dutch report prints the model's source line, caveats, descriptions and advice as they
    are: the project's own language identification must read every one of them as Dutch."""
    from profiles.model import load_model

    model = load_model(model_id)
    texts = [model.source, *model.caveats]
    for profile in model.profiles:
        texts += [profile.description, *(a.text for a in profile.advice)]
    languages = [e.language for e in enricher.enrich(texts)]
    assert [text for text, language in zip(texts, languages, strict=True) if language != "nl"] == []


def test_advice_fits_the_kind_of_municipality(warehouse: Path, tmp_path: Path) -> None:
    """Utrecht is a city (its shipped gazetteer says so): the advice stored for it and shown in the
    report has nothing meant for villages only, and the section says which kind it chose for."""
    from profiles.model import load_model

    model = load_model("citisens")
    only = {
        kind: {a.text for p in model.profiles for a in p.advice if a.kinds == [kind]}
        for kind in ("city", "villages")
    }
    html = _report(warehouse, tmp_path / "r.html")
    advice = html.split('<section id="advies">')[1].split("</section>")[0]
    utrecht = advice[advice.index("<h3>Utrecht</h3>") :]
    assert "Utrecht is een stad" in utrecht
    assert [text for text in only["villages"] if text in utrecht] == []
    assert [text for text in only["city"] if text in utrecht]  # the demo's Utrecht misses a village profile
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = {
            r[0]
            for r in con.execute(
                "SELECT advice FROM gap_advice WHERE starts_with(group_key, 'utrecht|')"
            ).fetchall()
        }
    assert stored and not stored & only["villages"]
