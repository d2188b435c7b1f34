"""Connecting to the warehouse, applying migrations, and the writes the flow makes.

DuckDB allows one writing process at a time; only the flow process writes. Every write that
belongs together (posts and their source state, an enrichment batch) is one transaction, so a
killed run never leaves state ahead of the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

MIGRATIONS = Path(str(resources.files("warehouse") / "migrations"))


class WarehouseError(Exception):
    """The warehouse file cannot be opened or is in an unexpected state."""


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; a writable connection first applies pending migrations."""
    if read_only and not path.exists():
        raise WarehouseError(f"{path}: no warehouse here; run `betrokken run` or `betrokken demo` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        raise WarehouseError(f"{path}: cannot open the warehouse: {exc}") from None
    if not read_only:
        migrate(con)
    return con


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply numbered ``migrations/NNN_*.sql`` files that have not run yet; returns their numbers."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for path in sorted(MIGRATIONS.glob("[0-9][0-9][0-9]_*.sql")):
        version = int(path.name[:3])
        if version in done:
            continue
        with transaction(con):
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, path.name, datetime.now(UTC)]
            )
        applied.append(version)
    return applied


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def begin_run(con: duckdb.DuckDBPyConnection, mode: str) -> int:
    run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM runs").fetchone()[0]
    con.execute(
        "INSERT INTO runs (run_id, started_at, status, mode) VALUES (?, ?, 'running', ?)",
        [run_id, datetime.now(UTC), mode],
    )
    return int(run_id)


def finish_run(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, counts: dict[str, int], error: str | None = None
) -> None:
    con.execute(
        "UPDATE runs SET ended_at = ?, status = ?, posts_new = ?, posts_enriched = ?, estimates = ?, "
        "error = ? WHERE run_id = ?",
        [
            datetime.now(UTC),
            status,
            counts.get("posts_new", 0),
            counts.get("posts_enriched", 0),
            counts.get("estimates", 0),
            error,
            run_id,
        ],
    )


def load_states(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    rows = con.execute("SELECT source_key, state FROM source_state").fetchall()
    return {key: json.loads(state) for key, state in rows}


def record_source(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    source_key: str,
    status: str,
    fetched: int,
    new: int,
    duplicate: int,
    duration_s: float,
    reason: str | None,
    warnings: Sequence[str],
) -> None:
    con.execute(
        "INSERT OR REPLACE INTO run_sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [run_id, source_key, status, fetched, new, duplicate, duration_s, reason, list(warnings)],
    )


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per base table; used by the demo summary and the idempotency tests."""
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
            "AND table_schema = 'main' ORDER BY table_name"
        ).fetchall()
    ]
    return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
