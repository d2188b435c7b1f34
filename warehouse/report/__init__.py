"""The reach-gap report: one self-contained HTML file (inline SVG charts, inline CSS, no scripts).

Charts are Vega-Lite specs built with altair and rendered to SVG with vl-convert at write time, so
the file needs no network and no JavaScript to view or print. Every chart has a table beside it.
Everything the report shows comes from the warehouse alone (no config file needed), so the nightly
run and ``betrokken report`` draw the same report from the same rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import vl_convert
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from nlp.data import parse_yaml
from nlp.topics import TopicMatcher
from profiles.evidence import evidence_for
from profiles.model import ProfileModel, load_model
from warehouse.db import insert_rows
from warehouse.estimates import ADVICE_COLUMNS, SHARE_COLUMNS, EstimateSettings, compute_estimates, period_for

# Okabe-Ito: distinguishable with the common forms of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SENTIMENT_COLOURS = {"negative": "#D55E00", "neutral": "#BBBBBB", "positive": "#0072B2"}
LANGUAGES = ("nl", "en")
TOP_TOPICS = 6
# The summary checks its findings against these period lengths (ending on the same day) and warns
# when a finding is not the same over all of them.
COMPARE_PERIODS = (30, 90)
KNOWN_STATUSES = ("absent", "under", "proportional", "over")
HEADLINES_PER_TOPIC = 2
EXCERPT_CHARS = 160


# ---- The report's SQL. bench/warehouse_queries.py times these statements: what it times is what runs. ----

LATEST_PERIOD_SQL = (
    "SELECT period_end, date_diff('day', period_start, period_end) + 1 FROM share_estimates "
    "ORDER BY run_id DESC, period_end DESC LIMIT 1"
)
# The stored gap of one period, through the view researchers read (migration 012); the sensitivity
# column's rows of the same groups; the advice of the absent and under-represented profiles.
STORED_GAP_SQL = (
    "SELECT * FROM v_reach_gap WHERE municipality = $m AND period_start = $start "
    "AND period_end = $end AND profile_model = $model"
)
# ``{estimates}`` and ``{advice}``: the stored tables, or a report's temporary copies of estimates
# it computed in memory; the gap of both comes from the one macro that defines v_reach_gap.
GAP_OF_SQL = "SELECT * FROM reach_gap('{estimates}') WHERE municipality = $m"
COMPARED_SQL = (
    "SELECT * FROM {estimates} WHERE method = $method AND group_key IN (SELECT unnest($groups)) "
    "AND topic_id IS NULL AND channel IS NULL"
)
ADVICE_SQL = "SELECT * FROM advice_of('{advice}') WHERE group_key IN (SELECT unnest($groups))"
# The posts a section counts: one municipality's originals that were not deleted, in the period.
IN_PERIOD = (
    "p.municipality_id = $m AND p.duplicate_of IS NULL AND NOT p.is_deleted "
    "AND CAST(p.created_utc AS DATE) BETWEEN $start AND $end"
)
# The same for every municipality of the report at once ($ms: their ids).
IN_PERIOD_ANY = (
    "p.municipality_id IN (SELECT unnest($ms)) AND p.duplicate_of IS NULL AND NOT p.is_deleted "
    "AND CAST(p.created_utc AS DATE) BETWEEN $start AND $end"
)
# Posts and channels per source; the voices are those of the warehouse's one definition (the
# voice_posts macro of migration 010), the same the estimate and the labelling loop count.
POSTS_BY_SOURCE_SQL = f"""
    WITH counted AS (
        SELECT source, count(DISTINCT author_key) AS n_voices
        FROM voice_posts($nlp, $start, $end) WHERE municipality_id = $m GROUP BY source
    )
    SELECT p.source, count(*) AS n_posts, coalesce(any_value(c.n_voices), 0) AS n_voices,
           count(DISTINCT p.channel) AS n_channels
    FROM posts p LEFT JOIN counted c ON c.source = p.source
    WHERE {IN_PERIOD} GROUP BY p.source ORDER BY p.source"""
# The migration that defines a voice; a warehouse before it is migrated by the next nightly run.
VOICES_MIGRATION = 11  # the voice macros (010) and the text evidence they read (011)
# A lower bound of enriched_at for the period's posts, so that the enrichment scan skips the row
# groups of older enrichments (DuckDB keeps min/max per row group). Sound because a post is only
# enriched after it was stored (enrich reads it from posts), so enriched_at >= stored_at; the day
# of slack covers a clock that was set back between the two.
ENRICHED_FROM_SQL = f"SELECT min(p.stored_at) - INTERVAL 1 DAY FROM posts p WHERE {IN_PERIOD_ANY}"
# One row per (post, topic) of the period for all municipalities of the report, with the post's
# sentiment (enriched = false: no enrichment row under this NLP version). post_topics and
# enrichment are scanned once per report instead of three times per municipality; the statements
# below read only this table (and posts for the headlines' text).
TOPIC_POSTS_SQL = f"""
    CREATE OR REPLACE TEMP TABLE report_topic_posts AS
    SELECT p.municipality_id, t.topic_id, p.source, p.created_utc,
           CASE WHEN p.source = 'rss' THEN p.post_id END AS post_id,
           e.sentiment, e.sentiment_score, e.post_id IS NOT NULL AS enriched
    FROM posts p
    JOIN post_topics t ON t.post_id = p.post_id AND t.nlp_version = $nlp
    LEFT JOIN enrichment e
      ON e.post_id = p.post_id AND e.nlp_version = $nlp AND e.enriched_at >= $enriched_from
    WHERE {IN_PERIOD_ANY}"""
TOPICS_SQL = """
    SELECT topic_id, count(*) AS n_posts, avg(sentiment_score) AS mean_score,
           count(*) FILTER (WHERE sentiment = 'negative') AS n_negative,
           count(*) FILTER (WHERE sentiment = 'neutral') AS n_neutral,
           count(*) FILTER (WHERE sentiment = 'positive') AS n_positive
    FROM report_topic_posts WHERE municipality_id = $m AND enriched
    GROUP BY ALL ORDER BY n_posts DESC, topic_id"""
WEEKLY_SQL = """
    SELECT topic_id, CAST(date_trunc('week', created_utc) AS DATE) AS week, count(*) AS n_posts,
           avg(sentiment_score) AS mean_score
    FROM report_topic_posts WHERE municipality_id = $m AND enriched AND list_contains($top, topic_id)
    GROUP BY ALL ORDER BY week, topic_id"""
HEADLINES_SQL = f"""
    SELECT r.topic_id, p.channel, CAST(p.created_utc AS DATE) AS day,
           coalesce(p.title, left(p.text, {EXCERPT_CHARS})) AS excerpt
    FROM report_topic_posts r
    JOIN posts p ON p.post_id = r.post_id
    WHERE r.municipality_id = $m AND r.source = 'rss' AND list_contains($top, r.topic_id)
      AND {IN_PERIOD} AND coalesce(p.title, p.text) IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY r.topic_id ORDER BY p.created_utc DESC, p.post_id)
            <= {HEADLINES_PER_TOPIC}
    ORDER BY r.topic_id, day DESC"""
SOURCE_HEALTH_SQL = """
    SELECT rs.*,
           (SELECT max(p.created_utc) FROM posts p WHERE p.source_key = rs.source_key) AS newest_post
    FROM run_sources rs WHERE rs.run_id = (SELECT max(run_id) FROM run_sources) ORDER BY rs.source_key"""
# In the order a report runs them (the temporary table first).
REPORT_SQL = {
    "latest period": LATEST_PERIOD_SQL,
    "stored gap": STORED_GAP_SQL,
    "sensitivity rows": COMPARED_SQL.format(estimates="share_estimates"),
    "advice": ADVICE_SQL.format(advice="gap_advice"),
    "posts per source": POSTS_BY_SOURCE_SQL,
    "enriched_at bound": ENRICHED_FROM_SQL,
    "period topics (temp table)": TOPIC_POSTS_SQL,
    "topics + sentiment": TOPICS_SQL,
    "weekly per top topic": WEEKLY_SQL,
    "headlines": HEADLINES_SQL,
    "source health": SOURCE_HEALTH_SQL,
}


class ReportError(Exception):
    """The warehouse holds nothing to report on (no run yet, or an unknown municipality)."""


@cache
def messages() -> dict[str, dict[str, str]]:
    path = resources.files("warehouse.report") / "messages.yaml"
    return parse_yaml(path.read_text(encoding="utf-8"))


@dataclass
class MunicipalitySection:
    id: str
    name: str
    period_start: date
    period_end: date
    posts_by_source: list[dict[str, Any]]
    n_voices: int
    n_voices_with_evidence: int
    gap_rows: list[dict[str, Any]]
    gap_chart: str | None
    missing: list[dict[str, Any]]
    topic_rows: list[dict[str, Any]]
    weekly_rows: list[dict[str, Any]]
    volume_chart: str | None
    sentiment_chart: str | None
    who_speaks: list[dict[str, Any]]
    method: str
    compare_method: str
    headlines: list[dict[str, Any]] = field(default_factory=list)
    # what the summary may say: names per known status, counts of unknown profiles per reason
    known: dict[str, list[str]] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    # profiles whose finding is not the same over another period ending on the same day
    period_notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def period_days(self) -> int:
        return (self.period_end - self.period_start).days + 1


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """What to report on; defaults come from the latest run recorded in the warehouse."""

    as_of: date | None = None
    period_days: int | None = None
    municipality: str | None = None
    lang: str = "nl"


def _svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_dict())


def records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}  # DuckDB rejects unused parameters
    cursor = con.execute(sql, used)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _gap_chart(rows: list[dict[str, Any]], t: dict[str, str]) -> str | None:
    shown = [r for r in rows if r["online_share"] is not None]
    if not shown:
        return None
    data = alt.Data(
        values=[
            {
                "profile": r["profile_name"],
                "online": r["online_share"],
                "low": r["online_lower"],
                "high": r["online_upper"],
                "population": r["population_share"],
            }
            for r in shown
        ]
    )
    y = alt.Y("profile:N", sort=[r["profile_name"] for r in shown], title=None)
    base = alt.Chart(data)
    interval = base.mark_rule(color=OKABE_ITO[0], strokeWidth=2).encode(
        y=y, x=alt.X("low:Q", title=t["share_axis"], axis=alt.Axis(format="%")), x2="high:Q"
    )
    # the interval is the finding; the point estimate is drawn subdued inside it
    online = base.mark_point(filled=False, size=55, color=OKABE_ITO[0], opacity=0.55).encode(
        y=y, x="online:Q"
    )
    population = base.mark_tick(color=OKABE_ITO[5], thickness=3, size=18).encode(y=y, x="population:Q")
    chart = (interval + online + population).properties(
        width=420, height=28 * len(shown), title=t["gap_chart_title"]
    )
    return _svg(chart)


def _weekly_chart(rows: list[dict[str, Any]], value: str, title: str, axis: str, t: dict[str, str]) -> str:
    """One line per topic over the weeks; colour and point shape both tell the topics apart."""
    data = alt.Data(values=[{"week": str(r["week"]), "topic": r["label"], "value": r[value]} for r in rows])
    x = alt.X("week:T", title=t["week"], axis=alt.Axis(format="%d-%m"))
    y = alt.Y("value:Q", title=axis)
    colour = alt.Color("topic:N", scale=alt.Scale(range=OKABE_ITO), title=t["topic"])
    base = alt.Chart(data)
    lines = base.mark_line().encode(x=x, y=y, color=colour.legend(None))
    points = base.mark_point(filled=True, size=45).encode(
        x=x, y=y, color=colour, shape=alt.Shape("topic:N", title=t["topic"])
    )
    chart = (lines + points).properties(width=460, title=title)
    return _svg(chart)


def _period_of_latest_run(con: duckdb.DuckDBPyConnection) -> tuple[date | None, int | None]:
    """As-of date and period length of the newest stored estimates (what the nightly run wrote)."""
    row = con.execute(LATEST_PERIOD_SQL).fetchone()
    return (row[0], int(row[1])) if row else (None, None)


def _model_for(row: dict[str, Any]) -> ProfileModel:
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


def _gap(
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
        return _gap_from(con, rows, "share_estimates", "gap_advice")
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
        return _gap_from(con, rows, "temp.report_estimates", "temp.report_advice")
    finally:
        con.execute("DROP TABLE IF EXISTS temp.report_estimates")
        con.execute("DROP TABLE IF EXISTS temp.report_advice")


def _gap_from(con: duckdb.DuckDBPyConnection, rows: list[dict[str, Any]], estimates: str, advice: str) -> Gap:
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


def _period_notes(
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
        other = _gap(
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


def _section(
    con: duckdb.DuckDBPyConnection,
    municipality: dict[str, Any],
    nlp: str,
    period: tuple[date, date],
    settings: EstimateSettings,
    t: dict[str, str],
    labels: dict[str, str],
) -> MunicipalitySection:
    model = _model_for(municipality)
    start, end = period
    params = {"m": municipality["municipality_id"], "start": start, "end": end, "nlp": nlp}
    posts_by_source = records(con, POSTS_BY_SOURCE_SQL, params)
    gap = _gap(con, municipality, model, nlp, period, settings)
    primary = sorted(gap.overall, key=lambda r: (-r["population_share"], r["profile_id"]))
    method = primary[0]["method"] if primary else settings.method
    profiles = {p.id: p for p in model.profiles}
    for r in primary:
        r["other"] = gap.compared.get(r["profile_id"])
    missing = [
        {
            "name": r["profile_name"],
            "status": r["status"],
            "description": profiles[r["profile_id"]].description,
            "advice": gap.advice.get((r["group_key"], r["profile_id"]), []),
        }
        for r in primary
        if r["status"] in ("absent", "under")
    ]
    # report_topic_posts holds the period's (post, topic) rows of this report's municipalities.
    topic_rows = records(con, TOPICS_SQL, params)
    top = [r["topic_id"] for r in topic_rows[:TOP_TOPICS]]
    weekly_rows = records(con, WEEKLY_SQL, {**params, "top": top})
    for r in topic_rows + weekly_rows:
        r["label"] = labels.get(r["topic_id"], r["topic_id"])
    who_speaks = []
    for topic in topic_rows:
        group = [r for r in gap.rows if r["topic"] == topic["topic_id"] and r["channel"] is None]
        if not group:
            continue
        who_speaks.append(
            {
                "label": topic["label"],
                "n_voices": group[0]["n_voices"],
                "suppressed": group[0]["status"] == "suppressed",
                "over": [r["profile_name"] for r in group if r["status"] == "over"],
                "under": [r["profile_name"] for r in group if r["status"] in ("absent", "under")],
            }
        )
    headlines = records(con, HEADLINES_SQL, {**params, "top": top})
    for h in headlines:
        h["label"] = labels.get(h["topic_id"], h["topic_id"])
        if len(h["excerpt"]) > EXCERPT_CHARS:
            h["excerpt"] = h["excerpt"][: EXCERPT_CHARS - 1].rstrip() + "…"
    first = primary[0] if primary else {}
    known = {s: [r["profile_name"] for r in primary if r["status"] == s] for s in KNOWN_STATUSES}
    unknown: dict[str, int] = {}
    for r in primary:
        if r["status"] == "unknown":
            reason = r.get("status_reason") or "unstated"
            unknown[reason] = unknown.get(reason, 0) + 1
    return MunicipalitySection(
        id=municipality["municipality_id"],
        name=municipality["name"],
        period_start=start,
        period_end=end,
        posts_by_source=posts_by_source,
        n_voices=first.get("n_voices", 0),
        n_voices_with_evidence=first.get("n_voices_with_evidence", 0),
        gap_rows=primary,
        gap_chart=_gap_chart(primary, t),
        missing=missing,
        topic_rows=topic_rows,
        weekly_rows=weekly_rows,
        volume_chart=(
            _weekly_chart(weekly_rows, "n_posts", t["volume_chart_title"], t["posts"], t)
            if weekly_rows
            else None
        ),
        sentiment_chart=(
            _weekly_chart(weekly_rows, "mean_score", t["sentiment_chart_title"], t["mean_sentiment"], t)
            if weekly_rows
            else None
        ),
        who_speaks=who_speaks,
        method=method,
        compare_method=compare_method(method),
        headlines=headlines,
        known=known,
        unknown=unknown,
        period_notes=_period_notes(con, municipality, model, nlp, period, primary, settings),
    )


def _pct(value: float | None) -> str:
    """A share as a whole percentage; a share above 0 but under half a percent reads "<1%"."""
    if value is None:
        return "–"
    shown = f"{100 * value:.0f}"
    return "<1%" if value > 0 and shown == "0" else f"{shown}%"  # 0.5% rounds to "0" (to even)


RANGE_FIGURES = {
    "share": ("online_lower", "online_upper", "online_share"),
    "index": ("ri_lower", "ri_upper", "representation_index"),
}


def _in_range(row: dict[str, Any] | None, kind: str, estimate_word: str) -> Markup:
    """ "3%–21% (schatting 9%)": the interval first, the point estimate subdued inside it, so no
    figure ever stands bare; "–" for a row without an estimate."""
    low, high, point = ((row or {}).get(key) for key in RANGE_FIGURES[kind])
    if low is None or high is None or point is None:
        return Markup("–")
    show = _pct if kind == "share" else "{:.2f}".format
    return Markup('{}–{} <span class="estimate">({} {})</span>').format(
        show(low), show(high), estimate_word, show(point)
    )


def render_report(con: duckdb.DuckDBPyConnection, request: ReportRequest, settings: EstimateSettings) -> str:
    """The report as one HTML string, from the warehouse alone."""
    if request.lang not in LANGUAGES:
        raise ReportError(f"unknown language {request.lang!r}; choose one of {', '.join(LANGUAGES)}")
    t = messages()[request.lang]
    migrated = con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
    if migrated < VOICES_MIGRATION:
        raise ReportError(
            "the warehouse was written by an older betrokken; run `betrokken run` (or `demo`) once "
            "with this version to migrate it, then draw the report"
        )
    municipalities = records(
        con,
        "SELECT * FROM municipalities WHERE $m IS NULL OR municipality_id = $m ORDER BY municipality_id",
        {"m": request.municipality},
    )
    if not municipalities:
        known = [r[0] for r in con.execute("SELECT municipality_id FROM municipalities").fetchall()]
        if request.municipality and known:
            raise ReportError(f"unknown municipality {request.municipality!r}; known: {', '.join(known)}")
        raise ReportError("the warehouse records no municipality yet; run `betrokken run` first")
    stored_as_of, stored_days = _period_of_latest_run(con)
    last_run = records(
        con,
        "SELECT run_id, started_at, as_of, nlp_version FROM runs "
        "WHERE run_id = (SELECT max(run_id) FROM run_sources)",
        {},
    )
    as_of = request.as_of or stored_as_of or (last_run[0]["as_of"] if last_run else None)
    as_of = as_of or datetime.now(UTC).date()
    period = period_for(as_of, request.period_days or stored_days or settings.period_days)
    nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0] or ""
    labels = {topic.id: topic.label for topic in TopicMatcher().topics}
    ids = [m["municipality_id"] for m in municipalities]
    bound = {"ms": ids, "start": period[0], "end": period[1]}
    enriched_from = con.execute(ENRICHED_FROM_SQL, bound).fetchone()[0]
    con.execute(TOPIC_POSTS_SQL, {**bound, "nlp": nlp, "enriched_from": enriched_from})
    try:
        sections = [_section(con, m, nlp, period, settings, t, labels) for m in municipalities]
    finally:
        con.execute("DROP TABLE IF EXISTS temp.report_topic_posts")
    health = records(con, SOURCE_HEALTH_SQL, {})
    model = _model_for(municipalities[0])
    env = Environment(loader=PackageLoader("warehouse.report", "."), autoescape=select_autoescape(["j2"]))
    env.filters["pct"] = _pct
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"

    env.filters["in_range"] = lambda row, kind="share": _in_range(row, kind, t["estimate_word"])

    def say(key: str, **values: Any) -> Markup:
        return Markup(t[key]).format(**values)

    def status_text(status: str, reason: str | None) -> str:
        """ "onbekend (te weinig stemmen)": an unknown status says why."""
        text = t["status_" + status]
        return f"{text} ({t['reason_' + reason]})" if status == "unknown" and reason else text

    return env.get_template("report.html.j2").render(
        lang=request.lang,
        t=t,
        say=say,
        status_text=status_text,
        compare_periods=COMPARE_PERIODS,
        sections=sections,
        model=model,
        estimation=settings,
        health=health,
        last_run=last_run[0] if last_run else None,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        as_of=as_of,
    )


def write_report(
    con: duckdb.DuckDBPyConnection, out: Path, request: ReportRequest, settings: EstimateSettings
) -> Path:
    """Write the report atomically (a reader never sees half a file); returns its path."""
    html = render_report(con, request, settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
