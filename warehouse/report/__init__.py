"""The reach-gap report: one self-contained HTML file (inline SVG charts, inline CSS, no scripts).

Charts are Vega-Lite specs rendered to SVG at write time (charts.py), so the file needs no network
and no JavaScript to view or print. Every chart has a table beside it.
Everything the report shows comes from the warehouse alone (no config file needed), so the nightly
run and ``betrokken report`` draw the same report from the same rows: the statements in
queries.py, the reach gap through the warehouse's one definition of it in gap.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from common.yamlfile import parse_yaml
from nlp.topics import TopicMatcher
from warehouse.estimates import EstimateSettings, period_for
from warehouse.report.charts import MIN_WEEK_POSTS, gap_chart, sentiment_chart, weekly_chart
from warehouse.report.gap import (
    COMPARE_PERIODS,
    KNOWN_STATUSES,
    compare_method,
    model_for,
    period_notes,
    read_gap,
)
from warehouse.report.queries import (
    ENRICHED_FROM_SQL,
    EXCERPT_CHARS,
    HEADLINES_SQL,
    LATEST_PERIOD_SQL,
    POSTS_BY_SOURCE_SQL,
    SOURCE_HEALTH_SQL,
    TOPIC_POSTS_SQL,
    TOPICS_SQL,
    VOICES_MIGRATION,
    WEEKLY_SQL,
    ReportError,
    headline_params,
    records,
)

LANGUAGES = ("nl", "en")
TOP_TOPICS = 6


@cache
def messages() -> dict[str, dict[str, str]]:
    path = resources.files("warehouse.report") / "messages.yaml"
    return parse_yaml(path.read_text(encoding="utf-8"))


class Counted(int):
    """A count that a message writes as ``{n:word}``: the number, then the word in the singular
    for one and in the plural otherwise (the forms per language under ``counted`` in messages.yaml)."""

    forms: dict[str, list[str]]

    def __new__(cls, value: int, forms: dict[str, list[str]]) -> Counted:
        counted = super().__new__(cls, value)
        counted.forms = forms
        return counted

    def __format__(self, spec: str) -> str:
        if spec not in self.forms:
            return super().__format__(spec)
        one, many = self.forms[spec]
        return f"{int(self)} {one if self == 1 else many}"


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
    # city, villages or None (not known): the kind of municipality the stored advice was chosen for
    kind: str | None = None
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


def _period_of_latest_run(con: duckdb.DuckDBPyConnection) -> tuple[date | None, int | None]:
    """As-of date and period length of the newest stored estimates (what the nightly run wrote)."""
    row = con.execute(LATEST_PERIOD_SQL).fetchone()
    return (row[0], int(row[1])) if row else (None, None)


def _section(
    con: duckdb.DuckDBPyConnection,
    municipality: dict[str, Any],
    nlp: str,
    period: tuple[date, date],
    settings: EstimateSettings,
    t: dict[str, str],
    labels: dict[str, str],
    headline_args: dict[str, Any],
) -> MunicipalitySection:
    model = model_for(municipality)
    start, end = period
    params = {"m": municipality["municipality_id"], "start": start, "end": end, "nlp": nlp}
    posts_by_source = records(con, POSTS_BY_SOURCE_SQL, params)
    gap = read_gap(con, municipality, model, nlp, period, settings)
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
    headlines = records(con, HEADLINES_SQL, {**params, "top": top, **headline_args})
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
        gap_chart=gap_chart(primary, t),
        missing=missing,
        topic_rows=topic_rows,
        weekly_rows=weekly_rows,
        volume_chart=weekly_chart(weekly_rows, t) if weekly_rows else None,
        sentiment_chart=sentiment_chart(weekly_rows, t) if weekly_rows else None,
        who_speaks=who_speaks,
        method=method,
        compare_method=compare_method(method),
        kind=municipality.get("kind"),
        headlines=headlines,
        known=known,
        unknown=unknown,
        period_notes=period_notes(con, municipality, model, nlp, period, primary, settings),
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
    matcher = TopicMatcher()
    labels = {topic.id: t.get(f"topic_{topic.id}", topic.label) for topic in matcher.topics}
    headline_args = headline_params(matcher)
    ids = [m["municipality_id"] for m in municipalities]
    bound = {"ms": ids, "start": period[0], "end": period[1]}
    enriched_from = con.execute(ENRICHED_FROM_SQL, bound).fetchone()[0]
    con.execute(TOPIC_POSTS_SQL, {**bound, "nlp": nlp, "enriched_from": enriched_from})
    try:
        sections = [_section(con, m, nlp, period, settings, t, labels, headline_args) for m in municipalities]
    finally:
        con.execute("DROP TABLE IF EXISTS temp.report_topic_posts")
    health = records(con, SOURCE_HEALTH_SQL, {})
    model = model_for(municipalities[0])
    env = Environment(loader=PackageLoader("warehouse.report", "."), autoescape=select_autoescape(["j2"]))
    env.filters["pct"] = _pct
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"

    env.filters["in_range"] = lambda row, kind="share": _in_range(row, kind, t["estimate_word"])

    def say(key: str, **values: Any) -> Markup:
        counts = {k: Counted(v, t["counted"]) for k, v in values.items() if type(v) is int}
        return Markup(t[key]).format(**{**values, **counts})

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
        min_week_posts=MIN_WEEK_POSTS,
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
