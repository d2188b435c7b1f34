"""A period's reach gap as the report shows it: stored estimates, or estimates computed in memory
for a period the nightly run did not estimate, both read through the one definition of the gap."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from profiles.evidence import evidence_for
from profiles.model import ProfileModel, load_model
from warehouse.db import insert_rows
from warehouse.estimates import ADVICE_COLUMNS, SHARE_COLUMNS, EstimateSettings, compute_estimates, period_for
from warehouse.report.queries import (
    ADVICE_SQL,
    COMPARED_SQL,
    GAP_OF_SQL,
    STORED_GAP_SQL,
    ReportError,
    records,
)

# The summary checks its findings against these period lengths (ending on the same day) and warns
# when a finding is not the same over all of them.
COMPARE_PERIODS = (30, 90)
KNOWN_STATUSES = ("absent", "under", "proportional", "over")


def model_for(row: dict[str, Any]) -> ProfileModel:
    model = load_model(row["profile_model"])
    shares = row["population_shares"]
    if shares:
        model = model.with_shares({k: (v[0], v[1]) for k, v in json.loads(shares).items()})
    return model


@dataclass
class Gap:
    """A period's reach gap of one municipality: its rows (the columns of v_reach_gap), the
    sensitivity method's rows of the municipality as a whole by profile, and the advice lists by
    (group, profile)."""

    rows: list[dict[str, Any]]
    compared: dict[str, dict[str, Any]]
    advice: dict[tuple[str, str], list[dict[str, Any]]]

    @property
    def overall(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["topic"] is None and r["channel"] is None]


def compare_method(method: str) -> str:
    """The sensitivity column's method, which every estimate stores beside the primary one."""
    return "bayes" if method != "bayes" else "pcc"


def read_gap(
    con: duckdb.DuckDBPyConnection,
    municipality: dict[str, Any],
    model: ProfileModel,
    nlp: str,
    period: tuple[date, date],
    settings: EstimateSettings,
    overall_only: bool = False,
) -> Gap:
    """The stored gap of the period, or, for a period the nightly run did not estimate, one computed
    in memory (nothing is written; with ``overall_only`` only the municipality as a whole), read
    through the same definition in temporary tables."""
    params = {"m": municipality["municipality_id"], "start": period[0], "end": period[1], "model": model.id}
    rows = records(con, STORED_GAP_SQL, params)
    if rows:
        return gap_from(con, rows, "share_estimates", "gap_advice")
    evidence = evidence_for(model, settings.evidence)  # the nightly run's evidence
    stored = {
        v
        for (v,) in con.execute(
            "SELECT DISTINCT model_version FROM post_signals WHERE profile_model = ?", [model.id]
        ).fetchall()
    }
    if stored and evidence.version not in stored:
        raise ReportError(
            f"the warehouse holds profile evidence {', '.join(sorted(stored))}, not {evidence.version} "
            "([estimation] evidence); draw the report with the run's --config"
        )
    estimates = compute_estimates(
        con,
        municipality["municipality_id"],
        evidence,
        nlp,
        period,
        settings,
        run_id=0,
        overall_only=overall_only,
    )
    con.execute("CREATE OR REPLACE TEMP TABLE report_estimates AS FROM share_estimates LIMIT 0")
    con.execute("CREATE OR REPLACE TEMP TABLE report_advice AS FROM gap_advice LIMIT 0")
    try:
        insert_rows(con, "report_estimates", SHARE_COLUMNS, estimates.shares)
        insert_rows(con, "report_advice", ADVICE_COLUMNS, estimates.advice)
        rows = records(con, GAP_OF_SQL.format(estimates="temp.report_estimates"), params)
        return gap_from(con, rows, "temp.report_estimates", "temp.report_advice")
    finally:
        con.execute("DROP TABLE IF EXISTS temp.report_estimates")
        con.execute("DROP TABLE IF EXISTS temp.report_advice")


def gap_from(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], estimates: str, advice: str) -> Gap:
    groups = sorted({r["group_key"] for r in rows})
    method = rows[0]["method"] if rows else ""
    compared = records(
        con, COMPARED_SQL.format(estimates=estimates), {"method": compare_method(method), "groups": groups}
    )
    advice_rows = records(con, ADVICE_SQL.format(advice=advice), {"groups": groups})
    return Gap(
        rows,
        {r["profile_id"]: r for r in compared},
        {(r["group_key"], r["profile_id"]): r["advice"] for r in advice_rows},
    )


def _direction(status: str) -> str:
    """What a status says about a profile: absent and under both say "fewer online"."""
    return "fewer" if status in ("absent", "under") else status


def _finding(days: int, row: dict[str, Any]) -> dict[str, Any]:
    return {"days": days, "status": row["status"], "reason": row.get("status_reason")}


def period_notes(
    con: duckdb.DuckDBPyConnection,
    municipality: dict[str, Any],
    model: ProfileModel,
    nlp: str,
    period: tuple[date, date],
    primary: list[dict[str, Any]],
    settings: EstimateSettings,
) -> list[dict[str, Any]]:
    """Profiles whose finding changes when the same municipality is estimated over another period
    of ``COMPARE_PERIODS`` ending on the same day (stored, or computed in memory like --period)."""
    days = (period[1] - period[0]).days + 1
    here = {r["profile_id"]: r for r in primary}
    notes: dict[str, dict[str, Any]] = {}
    for other_days in COMPARE_PERIODS:
        if other_days == days:
            continue
        other = read_gap(
            con, municipality, model, nlp, period_for(period[1], other_days), settings, overall_only=True
        ).overall
        for r in other:
            mine = here.get(r["profile_id"])
            if mine is None or _direction(mine["status"]) == _direction(r["status"]):
                continue
            if mine["status"] not in KNOWN_STATUSES and r["status"] not in KNOWN_STATUSES:
                continue  # neither period can tell: nothing depends on the period
            note = notes.setdefault(
                r["profile_id"], {"name": mine["profile_name"], "findings": [_finding(days, mine)]}
            )
            note["findings"].append(_finding(other_days, r))
    for note in notes.values():
        note["findings"].sort(key=lambda f: f["days"])
    return [notes[r["profile_id"]] for r in primary if r["profile_id"] in notes]
