"""A real run (a subprocess) killed in the middle of writing: the warehouse stays consistent and the
next run ends with exactly the rows a clean run produces."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests import REPO
from warehouse.db import table_counts

# The run log records every run, also the killed one: those tables grow by design.
RUN_LOG = {"runs", "run_sources", "schema_migrations"}


def _fingerprint(path: Path) -> tuple[dict[str, int], str]:
    """Row counts per data table and a digest of the rows that matter."""
    with duckdb.connect(str(path), read_only=True) as con:
        counts = {t: n for t, n in table_counts(con).items() if t not in RUN_LOG}
        rows = con.execute(
            "SELECT post_id, municipality_id, duplicate_of, content_hash, author_key, text "
            "FROM posts ORDER BY 1"
        ).fetchall()
        rows += con.execute(
            "SELECT post_id, language, sentiment, trust FROM enrichment ORDER BY 1"
        ).fetchall()
        rows += con.execute(
            "SELECT group_key, profile_id, method, online_share, online_lower, status FROM share_estimates "
            "ORDER BY 1, 2, 3"
        ).fetchall()
    return counts, hashlib.sha256(repr(rows).encode()).hexdigest()


def _killed_demo(out: Path, point: str, after: int, runner: str) -> subprocess.CompletedProcess:
    from prefect.settings import get_current_settings

    env = {
        **os.environ,
        "PREFECT_API_URL": str(get_current_settings().api.url),  # the test's server: no startup wait
        "BETROKKEN_KILL_AT": point,
        "BETROKKEN_KILL_AFTER": str(after),
    }
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "demo", "--out", str(out), "--runner", runner, "--workers", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    ("point", "after", "runner"),
    [
        ("store:before-commit", 1, "threads"),
        ("enrich:before-commit", 0, "threads"),
        # the first source's posts are in the worker's hands when the second source is killed
        ("store:before-commit", 1, "processes"),
    ],
    ids=["during-store", "during-enrich", "during-store-while-a-worker-enriches"],
)
def test_run_killed_while_writing_then_rerun_equals_a_clean_run(
    demo_run, sample_run, tmp_path: Path, point: str, after: int, runner: str
) -> None:
    clean_out, _, _ = demo_run
    clean = _fingerprint(clean_out / "warehouse.duckdb")
    out = tmp_path / "killed"
    out.mkdir()
    shutil.copy(clean_out / "betrokken.key", out / "betrokken.key")  # the same author keys as the clean run
    killed = _killed_demo(out, point, after, runner)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    warehouse = out / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:  # opens: the file is consistent
        assert con.execute("SELECT status FROM runs").fetchall() == [("running",)]
        if point.startswith("store"):
            stored_sources = con.execute("SELECT count(*) FROM run_sources").fetchone()[0]
            assert stored_sources == 1  # the first source landed, the second was in flight
            assert con.execute("SELECT count(*) FROM enrichment").fetchone()[0] == 0
        else:
            assert con.execute("SELECT count(*) FROM posts").fetchone()[0] > 300
            assert con.execute("SELECT count(*) FROM enrichment").fetchone()[0] == 0  # batch rolled back
    partial = _fingerprint(warehouse)
    assert partial != clean
    summary = sample_run(out)
    assert summary["status"] == "ok"
    assert _fingerprint(warehouse) == clean
    with duckdb.connect(str(warehouse), read_only=True) as con:
        statuses = con.execute("SELECT status, error FROM runs ORDER BY run_id").fetchall()
    assert statuses[0][0] == "failed" and statuses[0][1].startswith("interrupted")
    assert statuses[1] == ("ok", None)


def _store_a_post_per_chunk(path: str) -> None:
    """Store a delivery of nine posts, one per chunk (also run as a subprocess a kill point ends)."""
    from datetime import UTC, datetime

    import warehouse.store as store
    from sources.base import SourceResult
    from tests.sources.test_dedup import GAZ, chunked_delivery
    from warehouse.db import begin_run, connect

    posts = chunked_delivery(datetime(2026, 10, 1, 12, tzinfo=UTC))
    chunk, store.CHUNK = store.CHUNK, 1
    try:
        with connect(Path(path)) as con:
            delivery = SourceResult("reddit:utrecht", posts=posts, state={"watermarks": {"new": 1}})
            store.store_result(con, delivery, GAZ, begin_run(con, "live"))
    finally:
        store.CHUNK = chunk


def _stored(path: Path) -> tuple[list[tuple], ...]:
    with duckdb.connect(str(path), read_only=True) as con:
        return tuple(
            con.execute(sql).fetchall()
            for sql in (
                "SELECT post_id, municipality_id, relevance, content_hash, duplicate_of, duplicate_kind "
                "FROM posts ORDER BY 1",
                "SELECT post_id, signature FROM post_minhash ORDER BY 1",
                "SELECT * FROM post_lsh ORDER BY ALL",
                "SELECT source_key, state FROM source_state",
            )
        )


def test_a_delivery_killed_between_its_chunks_keeps_them_and_its_rerun_stores_the_rest_once(
    tmp_path: Path,
) -> None:
    clean, killed = tmp_path / "clean.duckdb", tmp_path / "killed.duckdb"
    _store_a_post_per_chunk(str(clean))
    code = (
        f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        "from tests.flows.test_faults import _store_a_post_per_chunk; "
        f"_store_a_post_per_chunk({str(killed)!r})"
    )
    env = {**os.environ, "BETROKKEN_KILL_AT": "store:chunk-committed", "BETROKKEN_KILL_AFTER": "5"}
    run = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert run.returncode == -signal.SIGKILL, run.stderr[-2000:]
    posts, _, _, state = _stored(killed)
    assert len(posts) == 6  # the chunks committed before the kill stay ...
    assert state == []  # ... and the state did not move: the rerun collects the same items again
    with duckdb.connect(str(killed), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM run_sources").fetchone()[0] == 0
    _store_a_post_per_chunk(str(killed))
    assert _stored(killed) == _stored(clean)
    with duckdb.connect(str(killed), read_only=True) as con:
        assert con.execute("SELECT new FROM run_sources").fetchall() == [(3,)]  # the rest, once
