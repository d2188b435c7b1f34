"""The researchers' copies: a read-only DuckDB snapshot and a Parquet export, written after each run.

DuckDB lets one process write a file, and a reader in another process would block that writer. So
researchers never open the live warehouse: they get a separate snapshot file with only the
researcher relations (no author key, no per-voice rows) and a hive-partitioned Parquet export.
Both are built beside the old copy and swapped in with a rename, so a reader holding the old
snapshot open keeps reading it undisturbed and the next reader sees the new one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

# Researcher relations: the stable views plus tables that hold no author key and nothing per voice
# (share_estimates has every method, for the PCC/EMQ sensitivity; v_reach_gap only the primary one).
SNAPSHOT_RELATIONS = (
    "v_posts",
    "v_enrichment",
    "v_topic_daily",
    "v_sentiment_daily",
    "v_reach_gap",
    "runs",
    "run_sources",
    "municipalities",
    "gap_advice",
    "estimate_signals",
    "share_estimates",
)

# Parquet export: relation -> the SQL expressions of its partition columns (municipality, month).
EXPORT_PARTITIONS = {
    "v_posts": ("municipality_id", "created_utc"),
    "v_enrichment": ("municipality_id", "created_utc"),
    "v_topic_daily": ("municipality_id", "day"),
    "v_sentiment_daily": ("municipality_id", "day"),
    "v_reach_gap": ("municipality", "period_end"),
}


@dataclass(frozen=True, slots=True)
class Published:
    snapshot: Path
    export: Path
    rows: dict[str, int]


def snapshot_path(warehouse: Path) -> Path:
    """Where the researchers' snapshot of a warehouse lives: beside it, with a fixed name."""
    return warehouse.with_name(warehouse.stem + ".snapshot.duckdb")


def export_path(warehouse: Path) -> Path:
    return warehouse.parent / "export"


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def write_snapshot(con: duckdb.DuckDBPyConnection, target: Path) -> dict[str, int]:
    """Materialise the researcher relations into a new DuckDB file and swap it in."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    con.execute(f"ATTACH {_quote(tmp)} AS snapshot")
    rows = {}
    try:
        for name in SNAPSHOT_RELATIONS:
            con.execute(f"CREATE TABLE snapshot.{name} AS SELECT * FROM main.{name}")
            rows[name] = con.execute(f"SELECT count(*) FROM snapshot.{name}").fetchone()[0]
    finally:
        con.execute("DETACH snapshot")
    tmp.replace(target)  # readers of the old file keep their open handle to it
    return rows


def write_export(con: duckdb.DuckDBPyConnection, target: Path) -> None:
    """Parquet per relation under ``<relation>/municipality=<id>/month=<YYYY-MM>/``."""
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for name, (municipality, moment) in EXPORT_PARTITIONS.items():
        con.execute(
            f"""
            COPY (
                SELECT * EXCLUDE ({municipality}), coalesce({municipality}, 'none') AS municipality,
                       strftime({moment}, '%Y-%m') AS month
                FROM main.{name}
            ) TO {_quote(tmp / name)} (FORMAT parquet, PARTITION_BY (municipality, month))
            """
        )
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def publish(con: duckdb.DuckDBPyConnection, warehouse: Path) -> Published:
    """Write both copies for this warehouse; called by the flow at the end of every run."""
    rows = write_snapshot(con, snapshot_path(warehouse))
    write_export(con, export_path(warehouse))
    return Published(snapshot_path(warehouse), export_path(warehouse), rows)
