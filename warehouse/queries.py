"""Read-only queries whose rows the command line shows, each defined once.

The CLI prints these rows and the warehouse bench times the same functions, so what is measured is
what users run. Writes stay in the modules of the stages that make them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

# The per-profile rows of `betrokken gap`: each municipality's latest period (v_latest_gap, migration
# 012), with the columns of v_reach_gap; a municipality, topic or period length narrows them (NULL
# parameters select all municipalities, all topics together, any length).
REACH_GAP_SQL = (
    "SELECT * EXCLUDE (advice) FROM v_latest_gap WHERE channel IS NULL "
    "AND ($m IS NULL OR municipality = $m) AND topic IS NOT DISTINCT FROM $t "
    "AND ($d IS NULL OR date_diff('day', period_start, period_end) + 1 = $d) "
    "ORDER BY municipality, population_share DESC, profile_id"
)

# What the rows of `betrokken gap` can be narrowed to: each municipality of the latest gap with its
# name, and the topics (NULL: all together) and period lengths in days estimated for it.
GAP_CHOICES_SQL = (
    "SELECT DISTINCT g.municipality, coalesce(m.name, g.municipality) AS name, g.topic, "
    "date_diff('day', g.period_start, g.period_end) + 1 AS days "
    "FROM v_latest_gap g LEFT JOIN municipalities m ON m.municipality_id = g.municipality "
    "WHERE g.channel IS NULL ORDER BY ALL"
)

# The overall share per profile and municipality (all topics and channels together), as the demo
# prints it after its run.
OVERALL_SHARES_SQL = (
    "SELECT municipality, profile_id, profile_name, n_voices, population_share, online_share, "
    "online_lower, online_upper, status, status_reason FROM v_latest_gap "
    "WHERE topic IS NULL AND channel IS NULL "
    "ORDER BY municipality, population_share DESC, profile_id"
)


class QueryError(Exception):
    """A researcher's query could not run (bad SQL, or the snapshot cannot be opened)."""


def _records(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def reach_gap_statement(
    municipality: str | None = None, topic: str | None = None, period_days: int | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement and parameters of :func:`reach_gap`, for a bench that times or explains it."""
    return REACH_GAP_SQL, {"m": municipality, "t": topic, "d": period_days}


def reach_gap(
    con: duckdb.DuckDBPyConnection,
    municipality: str | None = None,
    topic: str | None = None,
    period_days: int | None = None,
) -> list[dict[str, Any]]:
    """Rows of the latest reach gap, one dict per municipality and profile."""
    return _records(con.execute(*reach_gap_statement(municipality, topic, period_days)))


def gap_choices(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every (municipality, name, topic, days) the latest reach gap has rows for."""
    return _records(con.execute(GAP_CHOICES_SQL))


def overall_shares(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Per municipality and profile: voices, population share, online share with interval, status."""
    return _records(con.execute(OVERALL_SHARES_SQL))


def voices_by_source(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Distinct voices per source over the whole warehouse (the one definition of a voice)."""
    rows = con.execute(
        "SELECT source, count(DISTINCT author_key) FROM v_voice_posts GROUP BY source ORDER BY source"
    ).fetchall()
    return dict(rows)


def query_snapshot(snapshot: Path, query: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one researcher's statement on a snapshot file, read-only, with UTC days.

    Returns the column names and rows (both empty for a statement that returns nothing).
    """
    try:
        with duckdb.connect(str(snapshot), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            cursor = con.execute(query)
            names = [d[0] for d in cursor.description or []]
            return names, cursor.fetchall() if names else []
    except duckdb.Error as exc:
        raise QueryError(str(exc)) from None
