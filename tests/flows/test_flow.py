"""End to end: real Prefect flow runs against a real DuckDB file (one harness per session)."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from pytest_httpserver import HTTPServer

from sources.sample import SAMPLE_DIR, demo_config_path, sample_end
from warehouse.db import table_counts

pytestmark = pytest.mark.slow

DATA_TABLES = (
    "posts",
    "enrichment",
    "post_topics",
    "post_signals",
    "share_estimates",
    "estimate_signals",
    "source_state",
)


def test_flow_demo_stores_enriches_and_estimates(demo_run) -> None:
    out, first, _ = demo_run
    assert first["status"] == "ok"
    assert first["posts_new"] >= 300 and first["posts_enriched"] > 200
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts WHERE municipality_id IS NULL").fetchone()[0] > 0
        assert con.execute("SELECT count(DISTINCT language) FROM enrichment").fetchone()[0] >= 2
        topics = {r[0] for r in con.execute("SELECT DISTINCT topic_id FROM post_topics").fetchall()}
        assert {"spelen", "energie_klimaat", "asiel_opvang", "wonen"} <= topics
        gap = con.execute(
            "SELECT municipality, status, n_voices FROM v_reach_gap WHERE topic IS NULL AND channel IS NULL"
        ).fetchall()
        assert {m for m, _, _ in gap} == {"utrecht", "overbetuwe"}
        assert all(n >= 10 and s != "suppressed" for _, s, n in gap)
        # the shipped fit's word evidence is stored per post and carries (nearly) every voice
        versions = con.execute(
            "SELECT DISTINCT model_version, count(text_score) > 0 FROM post_signals GROUP BY 1"
        ).fetchall()
        assert len(versions) == 1 and "+fit" in versions[0][0] and versions[0][1]
        methods = con.execute(
            "SELECT DISTINCT method, n_voices, n_voices_with_evidence FROM v_reach_gap "
            "WHERE topic IS NULL AND channel IS NULL"
        ).fetchall()
        assert {m for m, _, _ in methods} == {"bayes"} and all(e >= 0.9 * n for _, n, e in methods)


def test_flow_rerun_adds_no_data_rows_and_does_no_nlp(demo_run) -> None:
    out, _, info = demo_run
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        after = table_counts(con)
        runs = con.execute("SELECT run_id, status FROM runs ORDER BY run_id").fetchall()
    for table in DATA_TABLES:
        assert after[table] == info["first"][table], table
    assert info["second_summary"]["posts_new"] == 0 and info["second_summary"]["posts_enriched"] == 0
    assert runs == [(1, "ok"), (2, "ok")]


def test_flow_estimates_are_consistent(demo_run) -> None:
    out, _, _ = demo_run
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        sums = con.execute(
            "SELECT group_key, method, sum(online_share) FROM share_estimates "
            "WHERE status != 'suppressed' GROUP BY ALL"
        ).fetchall()
        assert sums and all(abs(s - 1.0) < 1e-6 for _, _, s in sums)
        bad = con.execute("""SELECT count(*) FROM share_estimates WHERE status != 'suppressed' AND NOT (
            online_lower <= online_share AND online_share <= online_upper
            AND abs(representation_index - online_share / population_share) < 1e-9)""").fetchone()[0]
        assert bad == 0
        suppressed = con.execute(
            "SELECT count(*) FROM share_estimates WHERE n_voices < 10 "
            "AND (status != 'suppressed' OR online_share IS NOT NULL)"
        ).fetchone()[0]
        assert suppressed == 0


def test_flow_report_is_self_contained_and_computed(demo_run) -> None:
    out, _, _ = demo_run
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") >= 6  # gap, topic and sentiment charts for both municipalities
    assert "<script" not in html
    # no external resource: the only URLs are the SVG namespace identifiers
    assert "http://" not in html.replace("http://www.w3.org/", "")
    assert "https://" not in html
    for heading in ("Samenvatting", "bereikkloof", "Wie nog bereiken", "Onderwerpen", "Bronnen", "Methode"):
        assert heading in html
    assert "Utrecht" in html and "Overbetuwe" in html
    assert "aanname" in html
    assert "nieuwsartikelen van" in html and "stem van een redactie" in html  # news reported apart


def test_flow_live_run_retries_and_survives_a_failing_feed(
    prefect_harness, httpserver, tmp_path: Path
) -> None:
    from flows.nightly import nightly

    feed = (SAMPLE_DIR / "feeds" / "domstad-nieuws.rss").read_bytes()
    httpserver.expect_request("/ok.rss").respond_with_data(feed, content_type="application/rss+xml")
    httpserver.expect_request("/broken.rss").respond_with_data("boom", status=500)
    # a feed that fails once and then answers: the collection task's retry brings it in
    httpserver.expect_oneshot_request("/flaky.rss").respond_with_data("busy", status=503)
    bode = (SAMPLE_DIR / "feeds" / "betuwe-bode.rss").read_bytes()
    httpserver.expect_request("/flaky.rss").respond_with_data(bode, content_type="application/rss+xml")
    config = tmp_path / "live.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 2
backoff_s = 0

[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
places = ["Lombok", "Overvecht"]
  [[municipalities.feeds]]
  name = "Lokaal"
  url = "{httpserver.url_for("/ok.rss")}"
  [[municipalities.feeds]]
  name = "Kapot"
  url = "{httpserver.url_for("/broken.rss")}"
  [[municipalities.feeds]]
  name = "Wisselvallig"
  url = "{httpserver.url_for("/flaky.rss")}"
  [municipalities.reddit]
  subreddits = ["Utrecht"]
""")
    summary = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    assert summary["status"] == "partial"
    requests = [r.path for r, _ in httpserver.log]
    assert requests.count("/broken.rss") == 3 and requests.count("/flaky.rss") == 2  # 2 retries at most
    by_source = {s["source_key"]: s for s in summary["sources"]}
    assert by_source["rss:utrecht:Lokaal"]["status"] == "ok" and by_source["rss:utrecht:Lokaal"]["new"] > 20
    assert by_source["rss:utrecht:Kapot"]["status"] == "failed"
    assert "HTTP 500" in by_source["rss:utrecht:Kapot"]["reason"]
    assert "after 2 retries" in by_source["rss:utrecht:Kapot"]["reason"]
    assert by_source["rss:utrecht:Wisselvallig"]["status"] == "ok"
    assert by_source["rss:utrecht:Wisselvallig"]["fetched"] > 20
    assert any("Reddit skipped" in note for note in summary["notes"])
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM posts WHERE source = 'rss'").fetchone()[0] > 20
        assert con.execute("SELECT status FROM runs").fetchone()[0] == "partial"


@pytest.mark.vcr("reddit_500.yaml", allow_playback_repeats=True)
def test_flow_failing_reddit_does_not_stop_the_feeds(
    prefect_harness, httpserver, tmp_path: Path, monkeypatch
) -> None:
    from flows.nightly import nightly

    secret = "reddit-secret-that-must-not-leak"
    monkeypatch.setenv("BETROKKEN_REDDIT_CLIENT_ID", "test-client")
    monkeypatch.setenv("BETROKKEN_REDDIT_CLIENT_SECRET", secret)
    monkeypatch.setenv("BETROKKEN_REDDIT_USER_AGENT", "betrokken-tests/0.1")
    httpserver.expect_request("/bode.rss").respond_with_data(
        (SAMPLE_DIR / "feeds" / "betuwe-bode.rss").read_bytes(), content_type="application/rss+xml"
    )
    config = tmp_path / "live.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 0
[reddit]
retries = 1
backoff_s = 0
[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
  [municipalities.reddit]
  subreddits = ["Utrecht"]
[[municipalities]]
id = "overbetuwe"
name = "Overbetuwe"
cbs_code = "GM1734"
  [[municipalities.feeds]]
  name = "Betuwe Bode"
  url = "{httpserver.url_for("/bode.rss")}"
""")
    summary = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    assert summary["status"] == "partial"
    by_source = {s["source_key"]: s for s in summary["sources"]}
    assert by_source["reddit:utrecht"]["status"] == "failed"
    assert "ServerError" in by_source["reddit:utrecht"]["reason"]
    assert by_source["rss:overbetuwe:Betuwe Bode"]["new"] == 25
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        reasons = con.execute("SELECT source_key, status, reason FROM run_sources ORDER BY 1").fetchall()
        assert [(k, s) for k, s, _ in reasons] == [
            ("reddit:utrecht", "failed"),
            ("rss:overbetuwe:Betuwe Bode", "ok"),
        ]
        stored = con.execute("SELECT count(*) FROM posts WHERE municipality_id = 'overbetuwe'").fetchone()[0]
        assert stored > 15  # the gazetteer shipped for GM1734 finds the Overbetuwe kernen
        assert secret not in str(con.execute("SELECT * FROM run_sources").fetchall())


def test_reddit_credentials_from_a_prefect_secret_block(prefect_harness, monkeypatch) -> None:
    from prefect.blocks.system import Secret

    from flows.config import parse_settings
    from sources.reddit import find_credentials

    def reddit_credentials(settings):  # the config's [reddit] table, as the registry passes it
        return find_credentials(settings.model_dump(mode="json")["reddit"])

    for var in (
        "BETROKKEN_REDDIT_CLIENT_ID",
        "BETROKKEN_REDDIT_CLIENT_SECRET",
        "BETROKKEN_REDDIT_USER_AGENT",
    ):
        monkeypatch.delenv(var, raising=False)
    value = {"client_id": "block-id", "client_secret": "block-secret", "user_agent": "betrokken-tests"}
    Secret(value=value).save("betrokken-reddit-test", overwrite=True)
    base = {"municipalities": [{"id": "u", "name": "U", "cbs_code": "GM0344"}]}
    with_block = parse_settings({**base, "reddit": {"secret_block": "betrokken-reddit-test"}}, "test")
    assert reddit_credentials(with_block) == value
    missing = parse_settings({**base, "reddit": {"secret_block": "no-such-block"}}, "test")
    assert reddit_credentials(missing) is None
    assert reddit_credentials(parse_settings(base, "test")) is None


def test_flow_runs_with_another_profile_model_without_code_change(prefect_harness, tmp_path: Path) -> None:
    from flows.nightly import nightly

    config = tmp_path / "burgerschap.toml"
    (tmp_path / "overbetuwe.csv").write_text(
        "profile_id,share,source\nplichtsgetrouwen,25,eigen onderzoek\nbuitenstaanders,25,eigen onderzoek\n"
        "pragmatici,20,eigen onderzoek\nverantwoordelijken,30,eigen onderzoek\n",
        encoding="utf-8",
    )
    text = demo_config_path().read_text(encoding="utf-8")
    text = text.replace('profile_model = "citisens"', 'profile_model = "burgerschapsstijlen"')
    text = text.replace('id = "overbetuwe"', 'id = "overbetuwe"\npopulation_shares = "overbetuwe.csv"')
    config.write_text(text, encoding="utf-8")
    summary = nightly(
        config_path=str(config),
        mode="sample",
        warehouse_path=str(tmp_path / "w.duckdb"),
        report_path=str(tmp_path / "report.html"),
        as_of=sample_end().date(),
    )
    assert summary["status"] == "ok"
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT DISTINCT profile_model, profile_id FROM v_reach_gap").fetchall()
        assert {m for m, _ in rows} == {"burgerschapsstijlen"}
        assert {p for _, p in rows} == {
            "plichtsgetrouwen",
            "buitenstaanders",
            "pragmatici",
            "verantwoordelijken",
        }
        sums = con.execute(
            "SELECT sum(online_share) FROM v_reach_gap WHERE status != 'suppressed' "
            "GROUP BY municipality, topic, channel"
        ).fetchall()
        assert sums and all(abs(s - 1) < 1e-6 for (s,) in sums)
        local = dict(
            con.execute(
                "SELECT profile_id, population_share FROM v_reach_gap WHERE municipality = "
                "'overbetuwe' AND NOT population_share_is_assumption"
            ).fetchall()
        )
        assert local == {
            "plichtsgetrouwen": 0.25,
            "buitenstaanders": 0.25,
            "pragmatici": 0.2,
            "verantwoordelijken": 0.3,
        }
        national = con.execute(
            "SELECT DISTINCT population_share FROM v_reach_gap WHERE municipality = 'utrecht' "
            "AND profile_id = 'buitenstaanders'"
        ).fetchall()
        assert national == [(0.31,)]
    assert "Burgerschapsstijlen" in (tmp_path / "report.html").read_text(encoding="utf-8")


def test_cli_gap_reads_the_warehouse(demo_run) -> None:
    import json

    from typer.testing import CliRunner

    from flows.cli import app

    out, _, _ = demo_run
    runner = CliRunner()
    result = runner.invoke(
        app, ["gap", "--warehouse", str(out / "warehouse.duckdb"), "--municipality", "utrecht", "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 8 and {r["municipality"] for r in rows} == {"utrecht"}
    assert sum(r["online_share"] for r in rows) == pytest.approx(1.0)
    topic = json.loads(
        runner.invoke(
            app,
            [
                "gap",
                "--warehouse",
                str(out / "warehouse.duckdb"),
                "--topic",
                "wonen",
                "--period",
                "90d",
                "--json",
            ],
        ).output
    )
    assert topic and {r["topic"] for r in topic} == {"wonen"}
    table = runner.invoke(app, ["gap", "--warehouse", str(out / "warehouse.duckdb")], terminal_width=200)
    assert "Reach gap" in table.output and "Stadse" in table.output and "assumed" in table.output


def test_labelling_loop_calibrates_the_estimates(demo_run, tmp_path: Path) -> None:
    """Export voices, label them with the sample's intended profiles, import, evaluate, re-estimate."""
    import csv
    import json
    import shutil

    from typer.testing import CliRunner

    from flows.cli import app
    from flows.config import load_settings
    from flows.wiring import estimate_settings
    from nlp.version import nlp_version
    from profiles.evidence import evidence_for
    from profiles.model import load_model
    from warehouse.db import connect
    from warehouse.estimates import estimate_municipality

    out, _, _ = demo_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(out / "warehouse.duckdb", warehouse)
    runner = CliRunner()
    export = tmp_path / "labels.csv"
    result = runner.invoke(
        app,
        [
            "label",
            "export",
            "--n",
            "300",
            "--out",
            str(export),
            "--warehouse",
            str(warehouse),
            "--as-of",
            "2026-11-25",
        ],
    )
    assert result.exit_code == 0, result.output
    with export.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) >= 60 and all(r["profile"] == "" for r in rows)
    # label them from the sample's sidecar: find the fictional author of each voice by its first text
    # (the warehouse keeps no author key for exported voices, so this is the only way back)
    import html

    from sources.mastodon_mapping import host
    from sources.reddit_mapping import iter_thread
    from sources.rss_mapping import html_to_text
    from sources.scrub import scrub

    author_of_text = {}
    for thread in json.loads((SAMPLE_DIR / "reddit.json").read_text(encoding="utf-8")):
        for kind, d in iter_thread(thread):
            text = (d["title"] + "\n" + d["selftext"]) if kind == "t3" else d["body"]
            author_of_text[html.unescape(text).strip()] = d["author"]
    # Bluesky voices are labelled by their DID, Mastodon voices by their acct (qualified with the host)
    for search in json.loads((SAMPLE_DIR / "bluesky.json").read_text(encoding="utf-8")):
        for view in search["posts"]:
            author_of_text[view["record"]["text"].strip()] = view["author"]["did"]
    for timeline in json.loads((SAMPLE_DIR / "mastodon.json").read_text(encoding="utf-8")):
        for status in timeline["statuses"]:
            if not status["reblog"]:
                text = scrub(html_to_text(status["content"])).text.strip()
                acct = status["account"]["acct"]
                author_of_text[text] = acct if "@" in acct else f"{acct}@{host(timeline['instance'])}"
    truth = {}
    with (SAMPLE_DIR / "voice_labels.csv").open(encoding="utf-8") as handle:
        for r in csv.DictReader(line for line in handle if not line.startswith("#")):
            truth[(r["author"], r["municipality"])] = r["profile"]
    platforms = set()
    for r in rows:
        author = author_of_text.get(r["texts"].split("\n---\n")[0].strip())
        r["profile"] = truth.get((author, r["municipality"]), "")
        if r["profile"]:
            platforms.add(
                "bluesky" if author.startswith("did:") else "mastodon" if "@" in author else "reddit"
            )
    assert platforms == {"reddit", "bluesky", "mastodon"}
    with connect(warehouse) as con:
        columns = [c[0] for c in con.execute("DESCRIBE label_voices").fetchall()]
    assert "author_key" not in columns
    assert sum(1 for r in rows if r["profile"]) >= 60
    labelled = tmp_path / "labelled.csv"
    with labelled.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["voice_id", "municipality", "texts", "profile"])
        writer.writeheader()
        writer.writerows(rows)
    assert "author" not in export.read_text(encoding="utf-8").splitlines()[0]
    result = runner.invoke(app, ["label", "import", str(labelled), "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    report = json.loads(
        runner.invoke(app, ["eval", "profiles", "--warehouse", str(warehouse)])
        .output.strip()
        .splitlines()[-1]
    )
    assert report["n"] >= 30 and 0 < report["accuracy"] <= 1
    assert sum(map(sum, report["confusion"])) == report["n"]
    # a bad label is refused with the line
    bad = tmp_path / "bad.csv"
    bad.write_text(f"voice_id,profile\n{rows[0]['voice_id']},superheld\n", encoding="utf-8")
    refused = runner.invoke(app, ["label", "import", str(bad), "--warehouse", str(warehouse)])
    assert refused.exit_code == 2 and "line 2" in refused.output
    # the filled-in export fits the evidence; the estimate then calibrates on its labelled voices
    fit = tmp_path / "fit.npz"
    fitted = runner.invoke(app, ["label", "fit", "--csv", str(labelled), "--out", str(fit)])
    assert fitted.exit_code == 0, fitted.output
    settings = load_settings(demo_config_path())
    with connect(warehouse) as con:
        estimate_municipality(
            con,
            "utrecht",
            evidence_for(load_model("citisens"), str(fit)),
            nlp_version(),
            sample_end().date(),
            estimate_settings(settings.estimation),
            99,
        )
        methods = dict(
            con.execute(
                "SELECT DISTINCT method, is_primary FROM share_estimates WHERE municipality_id = 'utrecht'"
            ).fetchall()
        )
    assert methods == {"bayes": True, "pcc": False}


@pytest.fixture
def threaded_httpserver() -> Iterator[HTTPServer]:
    """A server on 127.0.0.1 that answers requests side by side: the plugin's own answers one at a
    time, so a healthy feed could queue behind a hanging one and miss its own time limit."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_hanging_source_costs_the_run_its_timeout_and_no_more(
    prefect_harness, threaded_httpserver: HTTPServer, tmp_path: Path
) -> None:
    import time

    from werkzeug import Response

    from flows.nightly import nightly

    httpserver = threaded_httpserver
    feed = (SAMPLE_DIR / "feeds" / "domstad-nieuws.rss").read_bytes()
    httpserver.expect_request("/ok.rss").respond_with_data(feed, content_type="application/rss+xml")

    def hang(_request):  # a server that answers long after the source's time limit
        time.sleep(4)
        return Response(feed, content_type="application/rss+xml")

    httpserver.expect_request("/hangs.rss").respond_with_handler(hang)
    config = tmp_path / "live.toml"
    config.write_text(f"""
[warehouse]
path = "w.duckdb"
[collect]
retries = 0
timeout_s = 1
[rss]
timeout_s = 30
[[municipalities]]
id = "utrecht"
name = "Utrecht"
cbs_code = "GM0344"
  [[municipalities.feeds]]
  name = "Lokaal"
  url = "{httpserver.url_for("/ok.rss")}"
  [[municipalities.feeds]]
  name = "Traag"
  url = "{httpserver.url_for("/hangs.rss")}"
""")
    started = time.monotonic()
    summary = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    by_source = {s["source_key"]: s for s in summary["sources"]}
    assert by_source["rss:utrecht:Traag"]["status"] == "failed"
    assert "no answer within 1 s" in by_source["rss:utrecht:Traag"]["reason"]
    assert by_source["rss:utrecht:Lokaal"]["status"] == "ok" and summary["status"] == "partial"
    collect_seconds = summary["stage_seconds"]["collect"]
    assert collect_seconds < 3.5, collect_seconds  # did not wait for the 4 s answer
    assert time.monotonic() - started > collect_seconds


def test_readme_demo_figures_are_those_of_the_demo(demo_run) -> None:
    """The README's demo paragraph is what the demo measures; it counts the voices the sample has."""
    from flows.commands import demo_figures
    from sources.sample import intended_mix

    out, _, _ = demo_run
    intended = intended_mix()["voices"]
    figures = demo_figures.measure(out / "warehouse.duckdb", intended)
    assert figures.voices == sum(sum(mix.values()) for mix in intended.values())
    assert figures.intervals == 8 * len(intended)
    text = demo_figures.README.read_text(encoding="utf-8")
    assert demo_figures.with_figures(text, figures) == text, (
        "README.md's demo figures differ from the demo; run: python -m flows.commands.demo_figures"
    )
