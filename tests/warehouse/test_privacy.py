"""Privacy by design, checked on real runs: no author name anywhere a run writes, erasure that
reaches the researchers' copies and sticks, retention, and secrets that never reach a log."""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from sources.pseudonym import Pseudonymiser, load_key
from tests import REPO
from warehouse.publish import export_path, snapshot_path

SAMPLE = REPO / "sources" / "sample"


def _authors(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        name = node.get("author")
        if isinstance(name, str) and name not in ("[deleted]", "[removed]"):
            yield name
        for value in node.values():
            yield from _authors(value)
    elif isinstance(node, list):
        for value in node:
            yield from _authors(value)


def _accounts() -> Iterator[str]:
    """Every DID, handle and display name of the Bluesky sample; every acct, username, display name
    and account URL of the Mastodon sample (the booster's too)."""
    for search in json.loads((SAMPLE / "bluesky.json").read_text(encoding="utf-8")):
        for view in search["posts"]:
            yield from (view["author"]["did"], view["author"]["handle"], view["author"]["displayName"])
    for timeline in json.loads((SAMPLE / "mastodon.json").read_text(encoding="utf-8")):
        for status in timeline["statuses"]:
            for item in (status, status["reblog"] or {}):
                if item:
                    account = item["account"]
                    yield from (account["acct"], account["username"], account["display_name"], account["url"])


SAMPLE_AUTHORS = Counter(_authors(json.loads((SAMPLE / "reddit.json").read_text(encoding="utf-8"))))
SAMPLE_AUTHORS.update(_accounts())


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = 'main' "
        "AND (data_type LIKE 'VARCHAR%' OR data_type = 'JSON')"
    ).fetchall()


def _names_found(con: duckdb.DuckDBPyConnection, relation_sql: str, columns: list[str]) -> set[str]:
    """Author names of the sample that occur (case-insensitively) in any of the columns."""
    names = sorted(n.lower() for n in SAMPLE_AUTHORS)
    found = set()
    for column in columns:
        rows = con.execute(
            f"SELECT DISTINCT n FROM (SELECT lower(CAST({column} AS VARCHAR)) AS v FROM {relation_sql}) "
            "JOIN (SELECT unnest($names) AS n) ON contains(v, n)",
            {"names": names},
        ).fetchall()
        found |= {r[0] for r in rows}
    return found


def test_no_author_name_of_the_sample_in_warehouse_snapshot_export_or_report(demo_run) -> None:
    out, _, _ = demo_run
    assert len(SAMPLE_AUTHORS) > 140
    warehouse = out / "warehouse.duckdb"
    for path in (warehouse, snapshot_path(warehouse)):
        with duckdb.connect(str(path), read_only=True) as con:
            by_table: dict[str, list[str]] = {}
            for table, column in _text_columns(con):
                by_table.setdefault(table, []).append(f'"{column}"')
            assert "posts" in by_table or "v_posts" in by_table
            for table, columns in by_table.items():
                assert _names_found(con, f'"{table}"', columns) == set(), f"{path.name}: {table}"
    with duckdb.connect() as con:
        for relation in (export_path(warehouse)).iterdir():
            parquet = f"read_parquet('{relation}/**/*.parquet', hive_partitioning = true)"
            columns = [
                f'"{r[0]}"'
                for r in con.execute(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
                if r[1].startswith("VARCHAR")
            ]
            assert _names_found(con, parquet, columns) == set(), relation.name
    report = (out / "report.html").read_text(encoding="utf-8").lower()
    assert [n for n in SAMPLE_AUTHORS if n.lower() in report] == []


@pytest.fixture
def copied_demo(demo_run, tmp_path: Path) -> Path:
    """A private copy of the demo folder (warehouse, key, snapshot, export) to change."""
    out, _, _ = demo_run
    target = tmp_path / "demo"
    shutil.copytree(out, target)
    return target


def _count(path: Path, sql: str, params: list | None = None) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql, params or []).fetchone()[0]


def test_forget_an_author_everywhere_and_for_good(copied_demo: Path, sample_run) -> None:
    warehouse = copied_demo / "warehouse.duckdb"
    name, _ = SAMPLE_AUTHORS.most_common(1)[0]
    key = Pseudonymiser(load_key(copied_demo / "betrokken.key")).author_key(name)
    ids = [
        r[0]
        for r in duckdb.connect(str(warehouse), read_only=True)
        .execute("SELECT post_id FROM posts WHERE author_key = ?", [key])
        .fetchall()
    ]
    assert len(ids) >= 3
    result = CliRunner().invoke(app, ["forget", "--author", name, "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert name not in result.output  # the name is hashed, never echoed
    assert f"erased {len(ids)} items" in result.output
    for table in ("posts", "enrichment", "post_topics", "post_signals", "post_minhash", "post_lsh"):
        assert _count(warehouse, f"SELECT count(*) FROM {table} WHERE list_contains(?, post_id)", [ids]) == 0
    snap = snapshot_path(warehouse)
    assert _count(snap, "SELECT count(*) FROM v_posts WHERE list_contains(?, post_id)", [ids]) == 0
    assert _count(snap, "SELECT count(*) FROM v_enrichment WHERE list_contains(?, post_id)", [ids]) == 0
    parquet = f"read_parquet('{export_path(warehouse)}/v_posts/**/*.parquet', hive_partitioning = true)"
    with duckdb.connect() as con:
        assert (
            con.execute(f"SELECT count(*) FROM {parquet} WHERE list_contains(?, post_id)", [ids]).fetchone()[
                0
            ]
            == 0
        )
    # the next run collects the same sample again: the author's items are not stored again
    summary = sample_run(copied_demo)
    assert summary["status"] == "ok"
    assert _count(warehouse, "SELECT count(*) FROM posts WHERE author_key = ?", [key]) == 0
    assert _count(warehouse, "SELECT count(*) FROM posts WHERE list_contains(?, post_id)", [ids]) == 0


def test_forget_one_item_by_its_source_id(copied_demo: Path) -> None:
    warehouse = copied_demo / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        post_id = con.execute(
            "SELECT post_id FROM posts JOIN enrichment USING (post_id) WHERE source = 'reddit' LIMIT 1"
        ).fetchone()[0]
        before = con.execute("SELECT count(*) FROM posts").fetchone()[0]
    native = post_id.split(":", 1)[1]
    result = CliRunner().invoke(app, ["forget", "--source-id", native, "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert _count(warehouse, "SELECT count(*) FROM posts") == before - 1
    assert _count(warehouse, "SELECT count(*) FROM enrichment WHERE post_id = ?", [post_id]) == 0
    assert _count(warehouse, "SELECT count(*) FROM erased_items WHERE post_id = ?", [post_id]) == 1
    assert _count(snapshot_path(warehouse), "SELECT count(*) FROM v_posts WHERE post_id = ?", [post_id]) == 0
    both = CliRunner().invoke(
        app, ["forget", "--source-id", "x", "--author", "y", "--warehouse", str(warehouse)]
    )
    assert both.exit_code == 2


def test_purge_removes_text_and_keeps_enrichment(copied_demo: Path) -> None:
    warehouse = copied_demo / "warehouse.duckdb"
    enriched = _count(warehouse, "SELECT count(*) FROM enrichment")
    assert _count(warehouse, "SELECT count(*) FROM posts WHERE text IS NOT NULL") > 300
    result = CliRunner().invoke(app, ["purge", "--older-than", "0", "--warehouse", str(warehouse)])
    assert result.exit_code == 0, result.output
    assert _count(warehouse, "SELECT count(*) FROM posts WHERE text IS NOT NULL OR title IS NOT NULL") == 0
    assert (
        _count(warehouse, "SELECT count(*) FROM posts WHERE text_purged_at IS NULL AND NOT is_deleted") == 0
    )
    assert _count(warehouse, "SELECT count(*) FROM enrichment") == enriched
    snap = snapshot_path(warehouse)
    assert _count(snap, "SELECT count(*) FROM v_posts WHERE text IS NOT NULL") == 0
    assert _count(snap, "SELECT count(*) FROM v_enrichment") > 300


class _Everything(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        if record.exc_info:
            self.lines.append(logging.Formatter().formatException(record.exc_info))


@pytest.mark.vcr("reddit_500.yaml", allow_playback_repeats=True)
def test_secrets_never_reach_logs_run_records_or_outputs(
    prefect_harness, httpserver, tmp_path: Path, monkeypatch, capfd
) -> None:
    from flows.nightly import nightly

    reddit_secret = "reddit-secret-5f2c9a-must-not-leak"
    author_key = "author-hash-key-7d41be-must-not-leak"
    monkeypatch.setenv("BETROKKEN_REDDIT_CLIENT_ID", "test-client")
    monkeypatch.setenv("BETROKKEN_REDDIT_CLIENT_SECRET", reddit_secret)
    monkeypatch.setenv("BETROKKEN_REDDIT_USER_AGENT", "betrokken-tests/0.1")
    monkeypatch.setenv("BETROKKEN_AUTHOR_KEY", author_key)
    httpserver.expect_request("/bode.rss").respond_with_data(
        (SAMPLE / "feeds" / "betuwe-bode.rss").read_bytes(), content_type="application/rss+xml"
    )
    httpserver.expect_request("/broken.rss").respond_with_data("no", status=500)
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
id = "overbetuwe"
name = "Overbetuwe"
cbs_code = "GM1734"
  [[municipalities.feeds]]
  name = "Betuwe Bode"
  url = "{httpserver.url_for("/bode.rss")}"
  [[municipalities.feeds]]
  name = "Kapot"
  url = "{httpserver.url_for("/broken.rss")}"
  [municipalities.reddit]
  subreddits = ["Utrecht"]
""")
    handler = _Everything()
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict))]
    levels = {lg.name: lg.level for lg in loggers}
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        summary = nightly(config_path=str(config), mode="live", as_of=date(2026, 11, 25))
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
            lg.setLevel(levels[lg.name])
    assert summary["status"] == "partial"  # Reddit and one feed failed, with their errors recorded
    assert len(handler.lines) > 20  # the capture really saw the run's logging
    captured = capfd.readouterr()
    outputs = [*handler.lines, captured.out, captured.err, json.dumps(summary, default=str)]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        outputs += [str(r) for r in con.execute("SELECT * FROM runs").fetchall()]
        outputs += [str(r) for r in con.execute("SELECT * FROM run_sources").fetchall()]
        reasons = [
            r[0] for r in con.execute("SELECT reason FROM run_sources WHERE status = 'failed'").fetchall()
        ]
    assert len(reasons) == 2 and all(reasons)
    outputs.append((tmp_path / "report.html").read_text(encoding="utf-8"))
    outputs += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*.duckdb")]
    for secret in (reddit_secret, author_key):
        leaks = [o[:200] for o in outputs if secret in o]
        assert leaks == [], f"secret leaked into: {leaks}"
