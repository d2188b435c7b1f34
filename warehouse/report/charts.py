"""The report's charts: Vega-Lite specs built with altair, rendered to inline SVG with vl-convert."""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert

# Okabe-Ito: distinguishable with the common forms of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SENTIMENT_COLOURS = {"negative": "#D55E00", "neutral": "#BBBBBB", "positive": "#0072B2"}
# A topic's mean sentiment in a week with fewer posts than this is left out of the sentiment chart:
# with one to four posts the mean swings from one end of the scale to the other on a single post.
MIN_WEEK_POSTS = 5


def _svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_dict())


def start_renderer() -> None:
    """Draw an empty chart: the renderer's first use in a process starts its JavaScript engine (~0.6 s
    of CPU, holding the GIL), which a caller with time to spare can get done before the report."""
    _svg(alt.Chart(alt.Data(values=[])).mark_point())


def gap_chart(rows: list[dict[str, Any]], t: dict[str, str]) -> str | None:
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


def _weekly(
    values: list[dict[str, Any]],
    axis: alt.Y,
    title: str | alt.Title,
    t: dict[str, str],
    weeks: tuple[str, str] | None = None,
) -> str:
    """One line per topic over the weeks; colour and point shape both tell the topics apart. A value
    may carry a ``segment``: a line joins only the points of one segment (a gap breaks it).
    ``weeks``: the first and last week across, when the values leave some out."""
    scale = alt.Scale(domain=list(weeks)) if weeks else alt.Undefined
    x = alt.X("week:T", title=t["week"], axis=alt.Axis(format="%d-%m"), scale=scale)
    colour = alt.Color("topic:N", scale=alt.Scale(range=OKABE_ITO), title=t["topic"])
    base = alt.Chart(alt.Data(values=values))
    lines = base.mark_line().encode(x=x, y=axis, color=colour.legend(None), detail="segment:N")
    points = base.mark_point(filled=True, size=45).encode(
        x=x, y=axis, color=colour, shape=alt.Shape("topic:N", title=t["topic"])
    )
    layers = [lines, points]
    if any("n" in v for v in values):
        layers.append(
            base.mark_text(align="left", dx=5, dy=-7, fontSize=10).encode(
                x=x, y=axis, color=colour.legend(None), text=alt.Text("n:Q", format="d")
            )
        )
    chart = alt.layer(*layers).properties(width=460, title=title)
    # the legend under the chart: beside it, it would push the chart off a phone's screen
    return _svg(chart.configure_legend(orient="bottom", columns=2))


def weekly_chart(rows: list[dict[str, Any]], t: dict[str, str]) -> str:
    """Posts per week of each topic."""
    values = [{"week": str(r["week"]), "topic": r["label"], "value": r["n_posts"]} for r in rows]
    return _weekly(values, alt.Y("value:Q", title=t["posts"]), t["volume_chart_title"], t)


def sentiment_chart(rows: list[dict[str, Any]], t: dict[str, str]) -> str | None:
    """Mean sentiment per topic and week, each point with its number of posts (n) beside it. A week
    with fewer than MIN_WEEK_POSTS posts on a topic is left out, and a line only joins consecutive
    weeks, so it never bridges a week it does not show. None when no week has enough posts."""
    values: list[dict[str, Any]] = []
    last: dict[str, tuple[Any, int]] = {}  # topic -> (its last shown week, the segment it is in)
    for r in sorted(rows, key=lambda r: (r["label"], r["week"])):
        if r["n_posts"] < MIN_WEEK_POSTS:
            continue
        week, segment = last.get(r["label"], (None, 0))
        if week is None or (r["week"] - week).days != 7:
            segment += 1
        last[r["label"]] = (r["week"], segment)
        values.append(
            {
                "week": str(r["week"]),
                "topic": r["label"],
                "value": r["mean_score"],
                "n": r["n_posts"],
                "segment": f"{r['label']}|{segment}",
            }
        )
    if not values:
        return None
    axis = alt.Y("value:Q", title=t["mean_sentiment"], scale=alt.Scale(domain=[-1, 1]))
    title = alt.Title(
        t["sentiment_chart_title"], subtitle=t["sentiment_chart_subtitle"].format(min=MIN_WEEK_POSTS)
    )
    weeks = (str(min(r["week"] for r in rows)), str(max(r["week"] for r in rows)))
    return _weekly(values, axis, title, t, weeks)
