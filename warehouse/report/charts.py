"""The report's charts: Vega-Lite specs built with altair, rendered to inline SVG with vl-convert."""

from __future__ import annotations

from typing import Any

import altair as alt
import vl_convert

# Okabe-Ito: distinguishable with the common forms of colour blindness.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
SENTIMENT_COLOURS = {"negative": "#D55E00", "neutral": "#BBBBBB", "positive": "#0072B2"}


def _svg(chart: alt.TopLevelMixin) -> str:
    return vl_convert.vegalite_to_svg(chart.to_dict())


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


def weekly_chart(rows: list[dict[str, Any]], value: str, title: str, axis: str, t: dict[str, str]) -> str:
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
