from datetime import UTC, datetime
from pathlib import Path

from sources.base import Post, SourceResult
from sources.relevance import Gazetteer, GazetteerEntry
from warehouse.db import begin_run, connect, migrate, table_counts
from warehouse.store import store_result

GAZ = Gazetteer([GazetteerEntry("utrecht", ("Utrecht",), ("Lombok",), ("r/utrecht",))])
WHEN = datetime(2026, 10, 1, 12, tzinfo=UTC)
LONG = "De gemeente Utrecht wil het groen in Lombok opknappen samen met de buurt, vanaf volgend voorjaar."


def _post(pid: str, text: str, kind: str = "post", thread: str | None = None) -> Post:
    return Post(
        post_id=pid,
        source="reddit",
        kind=kind,
        channel="r/thenetherlands",
        created_utc=WHEN,
        text=text,
        thread_id=thread or pid,
        author_key="abc123",
    )


def test_migrations_apply_once(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        assert migrate(con) == []
        assert con.execute("SELECT count(*) FROM schema_migrations").fetchone()[0] >= 2
        views = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
        assert {"v_posts", "v_enrichment", "v_topic_daily", "v_sentiment_daily", "v_reach_gap"} <= views
        v_posts = [r[0] for r in con.execute("DESCRIBE v_posts").fetchall()]
        assert "author_key" not in v_posts


def test_store_is_idempotent_and_links_exact_duplicates(tmp_path: Path) -> None:
    result = SourceResult(
        "test:reddit",
        posts=[
            _post("reddit:t3_a", LONG),
            _post("reddit:t3_b", LONG.upper() + "  "),  # the same text reposted
            _post("reddit:t1_c", "Eens!", kind="comment", thread="reddit:t3_a"),
            _post("reddit:t3_d", "Huren in Amsterdam is niet te doen"),
        ],
        state={"watermark": 1.0},
    )
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        first = store_result(con, result, GAZ, run)
        assert (first.fetched, first.new, first.duplicate) == (4, 4, 1)
        before = table_counts(con)["posts"]
        second = store_result(con, result, GAZ, begin_run(con, "live"))
        assert (second.new, second.duplicate) == (0, 0)
        assert table_counts(con)["posts"] == before == 4
        rows = dict(con.execute("SELECT post_id, duplicate_of FROM posts").fetchall())
        assert rows["reddit:t3_b"] == "reddit:t3_a" and rows["reddit:t3_a"] is None
        municipality = dict(con.execute("SELECT post_id, municipality_id FROM posts").fetchall())
        assert municipality["reddit:t1_c"] == "utrecht"  # inherited from its thread
        assert municipality["reddit:t3_d"] is None
        assert con.execute("SELECT state FROM source_state").fetchone()[0] == '{"watermark": 1.0}'


def test_failed_source_is_recorded_and_stores_nothing(tmp_path: Path) -> None:
    with connect(tmp_path / "w.duckdb") as con:
        run = begin_run(con, "live")
        counts = store_result(con, SourceResult("rss:kapot", error="HTTP 500"), GAZ, run)
        assert counts.status == "failed"
        assert con.execute("SELECT status, reason FROM run_sources").fetchone() == ("failed", "HTTP 500")
        assert table_counts(con)["posts"] == 0


def test_item_deleted_at_the_source_loses_text_title_and_author(tmp_path: Path) -> None:
    original = Post(
        post_id="reddit:t3_z",
        source="reddit",
        kind="post",
        channel="r/utrecht",
        created_utc=WHEN,
        title="Bomenkap in Lombok",
        text=LONG,
        thread_id="reddit:t3_z",
        author_key="abc123",
    )
    deleted = Post(
        post_id="reddit:t3_z",
        source="reddit",
        kind="post",
        channel="r/utrecht",
        created_utc=WHEN,
        title="",
        text="",
        thread_id="reddit:t3_z",
        author_key=None,
        is_deleted=True,
    )
    with connect(tmp_path / "w.duckdb") as con:
        store_result(con, SourceResult("test:reddit", posts=[original]), GAZ, begin_run(con, "live"))
        assert con.execute("SELECT count(*) FROM post_lsh").fetchone()[0] > 0
        store_result(con, SourceResult("test:reddit", posts=[deleted]), GAZ, begin_run(con, "live"))
        row = con.execute("SELECT is_deleted, title, text, author_key FROM posts").fetchone()
        assert row == (True, None, None, None)
        assert con.execute("SELECT count(*) FROM post_lsh").fetchone()[0] == 0
