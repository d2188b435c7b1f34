"""Researcher access: the snapshot and the Parquet export written after each run, `betrokken sql`
answering the recipes of docs/warehouse.md, and a reader that never blocks the nightly writer."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import EXIT_BUSY, app
from tests.test_docs import DOCS, _recipes
from warehouse.lock import RunLock
from warehouse.publish import EXPORT_PARTITIONS, SNAPSHOT_RELATIONS, snapshot_path


def _sql(warehouse: Path, query: str, fmt: str = "json") -> tuple[int, str]:
    result = CliRunner().invoke(app, ["sql", query, "--warehouse", str(warehouse), "--format", fmt])
    return result.exit_code, result.output


@pytest.mark.parametrize("recipe", _recipes(DOCS.read_text(encoding="utf-8")), ids=lambda r: r.title)
def test_betrokken_sql_answers_each_recipe_of_the_docs(demo_run, recipe) -> None:
    out, _, _ = demo_run
    code, output = _sql(out / "warehouse.duckdb", recipe.blocks[0])
    assert code == 0, output
    assert len(json.loads(output)) >= 1, f"recipe '{recipe.title}' returns no rows on the demo"


def test_sql_formats_and_refusals(demo_run) -> None:
    warehouse = demo_run[0] / "warehouse.duckdb"
    query = "SELECT source, count(*) AS n FROM v_posts GROUP BY source ORDER BY source"
    code, text = _sql(warehouse, query, "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(text)))
    n = {r["source"]: int(r["n"]) for r in rows}
    assert list(n) == ["bluesky", "mastodon", "reddit", "rss"] and n["reddit"] > 300
    assert n["bluesky"] == 25 and n["mastodon"] == 20  # the sample's boost is no item of its own
    code, text = _sql(warehouse, query, "table")
    assert code == 0 and "reddit" in text
    code, text = _sql(warehouse, "DELETE FROM runs")
    assert code == 1 and "read-only" in text
    code, text = _sql(warehouse, "SELECT author_key FROM posts")
    assert code == 1 and "posts does not exist" in text  # the live tables are not in the snapshot
    code, text = _sql(warehouse, query, "xml")
    assert code == 2


def test_snapshot_and_export_hold_the_researcher_relations_without_author_keys(demo_run) -> None:
    out, _, _ = demo_run
    with duckdb.connect(str(snapshot_path(out / "warehouse.duckdb")), read_only=True) as snap:
        tables = {r[0] for r in snap.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert tables == set(SNAPSHOT_RELATIONS)
        columns = {
            r[0] for r in snap.execute("SELECT column_name FROM information_schema.columns").fetchall()
        }
        assert not {c for c in columns if "author" in c}
        assert snap.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0] == 0
        counts = {
            name: snap.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in EXPORT_PARTITIONS
        }
    export = out / "export"
    with duckdb.connect() as con:
        for name, count in counts.items():
            parquet = con.execute(
                f"SELECT count(*), count(DISTINCT municipality), min(month) FROM "
                f"read_parquet('{export / name}/**/*.parquet', hive_partitioning = true)"
            ).fetchone()
            assert parquet[0] == count, name
            assert parquet[1] >= 2 and len(parquet[2]) == 7  # municipality=<id>/month=YYYY-MM
        months = sorted(p.name for p in (export / "v_posts" / "municipality=utrecht").iterdir())
        assert months[0].startswith("month=2026-") and len(months) >= 3


def test_reader_holding_the_snapshot_open_while_a_nightly_run_writes(demo_run, sample_run, tmp_path) -> None:
    """Both succeed: the writer replaces the snapshot beside the reader, who keeps the old one."""
    out, _, _ = demo_run
    shutil.copy(out / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    shutil.copy(snapshot_path(out / "warehouse.duckdb"), snapshot_path(tmp_path / "warehouse.duckdb"))
    reader = duckdb.connect(str(snapshot_path(tmp_path / "warehouse.duckdb")), read_only=True)
    runs_before = reader.execute("SELECT max(run_id) FROM runs").fetchone()[0]
    summary = sample_run(tmp_path)
    assert summary["status"] == "ok"
    # the open reader still answers, from the snapshot it opened
    assert reader.execute("SELECT max(run_id) FROM runs").fetchone()[0] == runs_before
    assert reader.execute("SELECT count(*) FROM v_posts").fetchone()[0] > 0
    reader.close()
    code, output = _sql(tmp_path / "warehouse.duckdb", "SELECT max(run_id) AS run FROM runs")
    assert code == 0 and json.loads(output)[0]["run"] == summary["run_id"] > runs_before


def test_a_second_run_on_a_busy_warehouse_exits_at_once(prefect_harness, tmp_path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    with RunLock(warehouse):
        result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == EXIT_BUSY
    assert "a run is already in progress" in result.output
    assert not warehouse.exists()  # it touched nothing


def _parquet_rows(export: Path, name: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            f"SELECT * FROM read_parquet('{export / name}/*/*/*.parquet', hive_partitioning = true) "
            "ORDER BY ALL"
        ).fetchall()


def test_export_rewrites_only_the_partitions_that_changed(demo_run, tmp_path) -> None:
    """A publish after a change in one month rewrites that month's partitions only (the others are
    the same files), and the export equals a full rewrite."""
    from warehouse.db import connect
    from warehouse.privacy import erase_posts
    from warehouse.publish import write_export

    out, _, _ = demo_run
    shutil.copytree(out, tmp_path / "demo")
    warehouse = tmp_path / "demo" / "warehouse.duckdb"
    export = tmp_path / "demo" / "export"
    with connect(warehouse) as con:
        assert write_export(con, export) == dict.fromkeys(EXPORT_PARTITIONS, 0)  # nothing changed
        post_id, month = con.execute(
            "SELECT post_id, strftime(created_utc, '%Y-%m') FROM posts JOIN enrichment USING (post_id) "
            "WHERE municipality_id = 'utrecht' AND source = 'reddit' ORDER BY created_utc LIMIT 1"
        ).fetchone()
        before = {p: p.stat().st_ino for p in export.rglob("*.parquet")}
        erase_posts(con, [post_id])
        written = write_export(con, export)
        write_export(con, tmp_path / "full", full=True)
    assert written["v_posts"] == 1 and written["v_enrichment"] == 1 and written["v_reach_gap"] == 0
    changed = f"municipality=utrecht/month={month}"
    for path, inode in before.items():
        if path.exists() and changed not in str(path):
            assert path.stat().st_ino == inode, path  # kept: the same file, hard-linked
    rewritten = export / "v_posts" / changed
    assert all(p.stat().st_ino != before.get(p) for p in rewritten.glob("*.parquet"))
    for name in EXPORT_PARTITIONS:
        assert _parquet_rows(export, name) == _parquet_rows(tmp_path / "full", name), name
    assert post_id not in {r[0] for r in _parquet_rows(export, "v_posts")}
