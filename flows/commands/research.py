"""Commands for researchers reading the results: gap, report, sql and estimate."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.commands.common import (
    DEMO_WAREHOUSE,
    EXIT_FAILED,
    check_config,
    console,
    evidence_model,
    fail,
    input_error,
    parse_as_of,
    parse_period,
    plural,
    profile_model,
    warehouse_path,
    write_json_line,
)
from flows.commands.options import (
    EvidenceOption,
    MunicipalityOption,
    ProfileModelOption,
    TextColOption,
    WarehouseConfigOption,
    WarehouseOption,
)
from flows.commands.tables import ShareRow, result_table, share_table
from profiles.evidence import EVIDENCE_SHIPPED


def _known(values: list[str]) -> str:
    return ", ".join(values) if values else "none yet (run the nightly job first)"


def gap_selection(
    choices: list[dict[str, Any]], municipality: str | None, topic: str | None, days: int | None
) -> str | None:
    """The municipality id that --municipality names (its id or its name, in any case), after
    checking that the warehouse has the gap asked for; an unknown municipality, topic or period
    length exits with the ones it has (``choices``: warehouse.queries.gap_choices)."""
    where = ""
    if municipality is not None:
        wanted = municipality.strip().casefold()
        # an id first: a municipality's name may be another's id
        ids = {c["municipality"] for c in choices if c["municipality"].casefold() == wanted} or {
            c["municipality"] for c in choices if c["name"].casefold() == wanted
        }
        if len(ids) != 1:
            named = sorted({f"{c['municipality']} ({c['name']})" for c in choices})
            fail(
                f"--municipality: {municipality!r} names no one municipality with a reach gap; "
                f"known (id and name): {_known(named)}"
            )
        municipality = ids.pop()
        choices = [c for c in choices if c["municipality"] == municipality]
        where = f" in {municipality}"
    if topic is not None:
        topics = sorted({c["topic"] for c in choices if c["topic"] is not None})
        if topic not in topics:
            fail(f"--topic: no reach gap for topic {topic!r}{where}; known: {_known(topics)}")
    choices = [c for c in choices if c["topic"] == topic]
    lengths = sorted({c["days"] for c in choices})
    if days is not None and days not in lengths:
        about = f" on topic {topic}" if topic else ""
        fail(
            f"--period: no reach gap over {days}d{where}{about}; known: {_known([f'{d}d' for d in lengths])}"
        )
    return municipality


def gap(
    municipality: Annotated[
        str | None, typer.Option(help="Municipality id or name, in any case; default all.")
    ] = None,
    topic: Annotated[str | None, typer.Option(help="Topic id; default all topics together.")] = None,
    period: Annotated[str | None, typer.Option(help="Period length such as 90d; default the latest.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    warehouse: WarehouseOption = None,
    config: WarehouseConfigOption = None,
) -> None:
    """Print the reach gap per profile from the warehouse (the view v_reach_gap).

    A municipality, topic or period the warehouse has no gap for exits 2 and lists the ones it has.
    Example: betrokken gap --municipality Utrecht --topic wonen --json
    """
    from warehouse.db import WarehouseError, connect
    from warehouse.queries import gap_choices, reach_gap

    days = parse_period(period)
    path = warehouse_path(warehouse, config)
    try:
        con = connect(path, read_only=True)
    except WarehouseError as exc:
        fail(str(exc), EXIT_FAILED)
    with con:
        if municipality is not None or topic is not None or days is not None:
            municipality = gap_selection(gap_choices(con), municipality, topic, days)
        rows = reach_gap(con, municipality, topic, days)
    if as_json:
        write_json_line(rows, default=str, ensure_ascii=False)
        return
    if not rows:
        console.print("No reach gap in the warehouse yet: run the nightly job first.")
        return
    first = rows[0]
    about = f", topic {topic}" if topic else ""
    title = f"Reach gap, {first['period_start']} to {first['period_end']}{about}"
    columns = ("municipality", "profile", "voices", "population", "online", "index", "status")
    console.print(share_table(title, [ShareRow.from_gap_row(r) for r in rows], columns))


def report(
    warehouse: WarehouseOption = None,
    municipality: MunicipalityOption = None,
    period: Annotated[
        str | None,
        typer.Option(help="Period such as 30d or 90d, ending on the as-of date; default the latest."),
    ] = None,
    lang: Annotated[str, typer.Option(help="Language of the report: nl or en.")] = "nl",
    out: Annotated[Path, typer.Option(help="The HTML file to write.")] = Path("report.html"),
    as_of: Annotated[
        str | None, typer.Option(help="Last day of the period, YYYY-MM-DD; default the latest run's.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Take the warehouse and the estimation thresholds from here."),
    ] = None,
) -> None:
    """Write the reach-gap report (one self-contained HTML file) from the warehouse.

    A period the nightly run did not estimate is estimated in memory; nothing is written to the
    warehouse. Example: betrokken report --warehouse data/warehouse.duckdb --period 30d --lang en
    """
    from flows.config import Estimation
    from flows.wiring import estimate_settings
    from warehouse.db import WarehouseError, connect
    from warehouse.report import LANGUAGES, ReportError, ReportRequest, write_report

    if lang not in LANGUAGES:
        fail(f"--lang: expected one of {', '.join(LANGUAGES)}, got {lang!r}")
    day = parse_as_of(as_of)
    settings = check_config(config) if config is not None else None
    estimation = estimate_settings(settings.estimation if settings else Estimation())
    path = warehouse_path(warehouse, config)
    request = ReportRequest(as_of=day, period_days=parse_period(period), municipality=municipality, lang=lang)
    try:
        with connect(path, read_only=True) as con:
            written = write_report(con, out, request, estimation)
    except (WarehouseError, ReportError) as exc:
        fail(str(exc), EXIT_FAILED, "No report:")
    console.print(f"report: {written.resolve()}", markup=False)


def sql(
    query: Annotated[str, typer.Argument(help="One SQL statement (DuckDB dialect).")],
    warehouse: Annotated[
        Path | None,
        typer.Option(help=f"Warehouse file whose snapshot to query (default: ./{DEMO_WAREHOUSE})."),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
    config: WarehouseConfigOption = None,
) -> None:
    """Query the researchers' read-only snapshot of the warehouse (never the live file).

    The snapshot holds the views v_posts, v_enrichment, v_topic_daily, v_sentiment_daily,
    v_reach_gap and the tables listed in docs/warehouse.md. Example:
    betrokken sql "SELECT profile_name, status FROM v_reach_gap WHERE topic IS NULL" --format csv
    """
    import csv

    from warehouse.publish import snapshot_path
    from warehouse.queries import QueryError, query_snapshot

    if output not in ("table", "csv", "json"):
        fail(f"--format: expected table, csv or json, got {output!r}")
    path = warehouse_path(warehouse, config)
    snapshot = path if path.name.endswith(".snapshot.duckdb") else snapshot_path(path)
    if not snapshot.exists():
        fail(
            f"at {snapshot}: it is written at the end of every run; run one first.",
            EXIT_FAILED,
            "No snapshot",
        )
    try:
        names, rows = query_snapshot(snapshot, query)
    except QueryError as exc:
        fail(str(exc), EXIT_FAILED, "Query failed:")
    if output == "json":
        write_json_line([dict(zip(names, row, strict=True)) for row in rows], default=str, ensure_ascii=False)
    elif output == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(rows)
    else:
        console.print(result_table(names, rows))


def estimate(
    csv_path: Annotated[Path, typer.Option("--csv", help="CSV with a text column.")],
    text_col: TextColOption = "text",
    author_col: Annotated[str | None, typer.Option(help="Column that groups rows into voices.")] = None,
    channel_col: Annotated[str | None, typer.Option(help="Column with the channel (e.g. r/utrecht).")] = None,
    model: ProfileModelOption = "citisens",
    method: Annotated[
        str | None,
        typer.Option(
            help="bayes (default), cc, pcc, emq, map; with a fit's calibration also acc, pacc, kdey."
        ),
    ] = None,
    evidence: EvidenceOption = EVIDENCE_SHIPPED,
) -> None:
    """Estimate profile shares for any table of texts, without touching the warehouse.

    Uses the same evidence and method as the nightly run by default. Prints the share table and,
    as the last line, one JSON object with method, n_voices and profiles ({id, share, lower, upper,
    population_share, representation_index, status, status_reason}). Author names are only used
    to group rows and are never printed.

    Example: betrokken estimate --csv export.csv --author-col auteur
    """
    from nlp.evaluate import EvalInputError, read_csv_columns
    from nlp.pipeline import get_enricher
    from profiles.adhoc import estimate_texts
    from profiles.estimate import ALL_METHODS, DEFAULT_METHOD, NEEDS_CALIBRATION

    columns = [text_col, *(c for c in (author_col, channel_col) if c)]
    try:
        rows = read_csv_columns(csv_path, columns)
    except EvalInputError as exc:
        input_error(exc)
    chosen_model = profile_model(model)
    evidence_used = evidence_model(chosen_model, evidence)
    allowed = [m for m in ALL_METHODS if m not in NEEDS_CALIBRATION or evidence_used.calibration is not None]
    if method is not None and method not in allowed:
        fail(
            f"--method: expected one of {', '.join(allowed)} (acc, pacc and kdey need the calibration of "
            f"a fitted evidence file), got {method!r}"
        )
    result = estimate_texts(
        get_enricher(),
        evidence_used,
        [r[text_col] for r in rows],
        authors=[r[author_col] for r in rows] if author_col else None,
        channels=[r[channel_col] for r in rows] if channel_col else None,
        method=method,
    )
    used = result.estimate.method if result.estimate else (method or DEFAULT_METHOD)
    shares = [
        ShareRow(
            profile=g.profile_name,
            population_share=g.population_share,
            online_share=g.online_share,
            online_lower=g.online_lower,
            online_upper=g.online_upper,
            status=g.status,
            status_reason=g.status_reason,
            representation_index=g.representation_index,
            population_is_assumption=g.population_share_is_assumption,
        )
        for g in result.gap
    ]
    title = (
        f"{plural(result.n_voices, 'voice')} from {result.n_dutch} Dutch of {plural(result.n_rows, 'row')}; "
        f"method {used}"
    )
    shown = ("profile", "population", "online", "index", "status")
    console.print(share_table(title, shares, shown, "share (90% interval)"))
    payload = {
        "method": used,
        "n_voices": result.n_voices,
        "profile_model": chosen_model.id,
        "profiles": [
            {
                "id": g.profile_id,
                "share": g.online_share,
                "lower": g.online_lower,
                "upper": g.online_upper,
                "population_share": g.population_share,
                "representation_index": g.representation_index,
                "status": g.status,
                "status_reason": g.status_reason,
            }
            for g in result.gap
        ],
    }
    write_json_line(payload, ensure_ascii=False)
