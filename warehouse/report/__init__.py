"""The reach-gap report: one self-contained HTML file (inline SVG charts, inline CSS, no scripts).

Charts are Vega-Lite specs built with altair and rendered to SVG with vl-convert at write time, so
the file needs no network and no JavaScript to view or print. Every chart has a table beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import altair as alt
import duckdb
import vl_convert
from jinja2 import Environment, PackageLoader, select_autoescape

from flows.config import Settings
from nlp.pipeline import nlp_version
from nlp.topics import TopicMatcher
from profiles.model import ProfileModel, load_model, load_model_for
from warehouse.estimates import period_for

# Okabe-Ito: distinguishable with the common forms of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SENTIMENT_COLOURS = {"negatief": "#D55E00", "neutraal": "#BBBBBB", "positief": "#0072B2"}
STATUS_NL = {
    "absent": "afwezig",
    "under": "ondervertegenwoordigd",
    "proportional": "naar verhouding",
    "over": "oververtegenwoordigd",
    "suppressed": "onderdrukt (te weinig stemmen)",
}
SENTIMENT_NL = {"negative": "negatief", "neutral": "neutraal", "positive": "positief"}


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
    topic_chart: str | None
    sentiment_rows: list[dict[str, Any]]
    sentiment_chart: str | None


def _svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_dict())


def _records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}  # DuckDB rejects unused parameters
    cursor = con.execute(sql, used)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _gap_chart(rows: list[dict[str, Any]]) -> str | None:
    shown = [r for r in rows if r["online_share"] is not None]
    if not shown:
        return None
    data = alt.Data(
        values=[
            {
                "profiel": r["profile_name"],
                "online": r["online_share"],
                "laag": r["online_lower"],
                "hoog": r["online_upper"],
                "bevolking": r["population_share"],
            }
            for r in shown
        ]
    )
    order = [r["profile_name"] for r in shown]
    y = alt.Y("profiel:N", sort=order, title=None)
    base = alt.Chart(data)
    interval = base.mark_rule(color=OKABE_ITO[0], strokeWidth=2).encode(
        y=y, x=alt.X("laag:Q", title="aandeel", axis=alt.Axis(format="%")), x2="hoog:Q"
    )
    online = base.mark_point(filled=True, size=70, color=OKABE_ITO[0]).encode(y=y, x="online:Q")
    population = base.mark_tick(color=OKABE_ITO[5], thickness=3, size=18).encode(y=y, x="bevolking:Q")
    chart = (interval + online + population).properties(
        width=420,
        height=28 * len(shown),
        title="Online aandeel (punt, met 90%-interval) tegen bevolkingsaandeel (oranje streep)",
    )
    return _svg(chart)


def _topic_chart(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    data = alt.Data(
        values=[{"onderwerp": r["label"], "bron": r["source"], "berichten": r["n_posts"]} for r in rows]
    )
    chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("onderwerp:N", sort="-x", title=None),
            x=alt.X("sum(berichten):Q", title="berichten"),
            color=alt.Color("bron:N", scale=alt.Scale(range=OKABE_ITO), title="bron"),
        )
        .properties(width=420, title="Berichten per onderwerp en bron")
    )
    return _svg(chart)


def _sentiment_chart(rows: list[dict[str, Any]]) -> str | None:
    if not rows:
        return None
    values = []
    for r in rows:
        for key, label in (("n_negative", "negatief"), ("n_neutral", "neutraal"), ("n_positive", "positief")):
            values.append({"onderwerp": r["label"], "sentiment": label, "berichten": r[key]})
    chart = (
        alt.Chart(alt.Data(values=values))
        .mark_bar()
        .encode(
            y=alt.Y("onderwerp:N", title=None),
            x=alt.X("berichten:Q", stack="normalize", title="aandeel berichten", axis=alt.Axis(format="%")),
            color=alt.Color(
                "sentiment:N",
                scale=alt.Scale(domain=list(SENTIMENT_COLOURS), range=list(SENTIMENT_COLOURS.values())),
            ),
            order=alt.Order("sentiment:N"),
        )
        .properties(width=420, title="Sentiment per onderwerp")
    )
    return _svg(chart)


def _section(
    con: duckdb.DuckDBPyConnection,
    municipality: Any,
    model: ProfileModel,
    settings: Settings,
    as_of: date,
    labels: dict[str, str],
) -> MunicipalitySection:
    start, end = period_for(as_of, settings.estimation.period_days)
    version = nlp_version(settings.nlp.backend_options())
    params = {"m": municipality.id, "start": start, "end": end, "nlp": version, "model": model.id}
    in_period = (
        "p.municipality_id = $m AND p.duplicate_of IS NULL AND NOT p.is_deleted "
        "AND CAST(p.created_utc AS DATE) BETWEEN $start AND $end"
    )
    posts_by_source = _records(
        con,
        f"""
        SELECT p.source, count(*) AS n_posts, count(DISTINCT p.author_key) AS n_voices,
               count(DISTINCT p.channel) AS n_channels
        FROM posts p WHERE {in_period} GROUP BY p.source ORDER BY p.source""",
        params,
    )
    gap = _records(
        con,
        """
        SELECT * FROM share_estimates
        WHERE municipality_id = $m AND period_start = $start AND period_end = $end AND topic_id IS NULL
          AND channel IS NULL AND profile_model = $model
        ORDER BY is_primary DESC, population_share DESC, profile_id""",
        params,
    )
    primary = [r for r in gap if r["is_primary"]]
    other = {r["profile_id"]: r for r in gap if not r["is_primary"]}
    profiles = {p.id: p for p in model.profiles}
    for r in primary:
        r["status_nl"] = STATUS_NL[r["status"]]
        r["other"] = other.get(r["profile_id"])
    missing = []
    for r in primary:
        if r["status"] in ("absent", "under"):
            missing.append(
                {
                    "name": r["profile_name"],
                    "status_nl": r["status_nl"],
                    "description": profiles[r["profile_id"]].description,
                    "advice": profiles[r["profile_id"]].advice,
                }
            )
    topic_rows = _records(
        con,
        f"""
        SELECT t.topic_id, p.source, count(*) AS n_posts
        FROM posts p JOIN post_topics t ON t.post_id = p.post_id AND t.nlp_version = $nlp
        WHERE {in_period} GROUP BY ALL ORDER BY n_posts DESC, t.topic_id""",
        params,
    )
    sentiment_rows = _records(
        con,
        f"""
        SELECT t.topic_id, count(*) AS n_posts, avg(e.sentiment_score) AS mean_score,
               count(*) FILTER (WHERE e.sentiment = 'negative') AS n_negative,
               count(*) FILTER (WHERE e.sentiment = 'neutral') AS n_neutral,
               count(*) FILTER (WHERE e.sentiment = 'positive') AS n_positive
        FROM posts p
        JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = $nlp
        JOIN post_topics t ON t.post_id = p.post_id AND t.nlp_version = $nlp
        WHERE {in_period} GROUP BY ALL ORDER BY n_posts DESC, t.topic_id""",
        params,
    )
    for r in topic_rows + sentiment_rows:
        r["label"] = labels.get(r["topic_id"], r["topic_id"])
    first = primary[0] if primary else {}
    return MunicipalitySection(
        id=municipality.id,
        name=municipality.name,
        period_start=start,
        period_end=end,
        posts_by_source=posts_by_source,
        n_voices=first.get("n_voices", 0),
        n_voices_with_evidence=first.get("n_voices_with_evidence", 0),
        gap_rows=primary,
        gap_chart=_gap_chart(primary),
        missing=missing,
        topic_rows=topic_rows,
        topic_chart=_topic_chart(topic_rows),
        sentiment_rows=sentiment_rows,
        sentiment_chart=_sentiment_chart(sentiment_rows),
    )


def write_report(con: duckdb.DuckDBPyConnection, out: Path, settings: Settings, as_of: date) -> Path:
    """Write report.html for every configured municipality; returns its path."""
    model = load_model(settings.profile_model)
    labels = {t.id: t.label for t in TopicMatcher().topics}
    sections = [
        _section(con, m, load_model_for(settings.profile_model, m.population_shares), settings, as_of, labels)
        for m in settings.municipalities
    ]
    last_run = con.execute("SELECT max(run_id) FROM run_sources").fetchone()[0]
    health = _records(
        con,
        """
        SELECT rs.source_key, rs.status, rs.fetched, rs.new, rs.duplicate, rs.duration_s, rs.reason,
               rs.warnings,
               (SELECT max(p.created_utc) FROM posts p WHERE p.source_key = rs.source_key) AS newest_post
        FROM run_sources rs WHERE rs.run_id = $run ORDER BY rs.source_key""",
        {"run": last_run or 0},
    )
    env = Environment(loader=PackageLoader("warehouse.report", "."), autoescape=select_autoescape(["j2"]))
    env.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f}%"
    env.filters["num"] = lambda v, d=2: "–" if v is None else f"{v:.{d}f}"
    html = env.get_template("report.html.j2").render(
        sections=sections,
        model=model,
        settings=settings,
        health=health,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        as_of=as_of,
        sentiment_nl=SENTIMENT_NL,
        status_nl=STATUS_NL,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return out
