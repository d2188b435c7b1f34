"""Warehouse scale: how fast the queries users run are on a warehouse of N enriched posts.

The warehouse is the synthetic one of ``bench/synthetic_warehouse.py``: built quickly with SQL, not
through the NLP, on the real migrations, with a year of posts, nightly runs and nightly estimates of
20 municipalities shaped like what the nightly flow writes (its docstring has the shape).

Then it times, with ``--repeat`` repetitions (first run, median, min):
- the reach-gap query of one municipality and ``betrokken gap`` over all municipalities (the
  function that command calls, ``warehouse.queries.reach_gap``);
- ``warehouse.report.render_report`` for the largest municipality as a whole, and its SQL
  statements separately (imported from ``warehouse.report.queries``, so they are the ones that run);
- the researcher views, ``warehouse.publish.write_snapshot``, and ``write_export`` in full, with
  nothing changed, and after a night's changes (texts of one day purged, items of the newest day
  deleted at the source; made in a transaction that is rolled back afterwards).

Usage:
    python bench/warehouse_queries.py --rows 1000000 [--repeat 5] [--keep PATH | --reuse PATH] [--explain]

``--keep PATH`` writes the warehouse to PATH and leaves it there (else a temporary folder is used
and removed). ``--reuse PATH`` measures a warehouse built earlier with ``--keep`` (migrations are
applied when it is opened) instead of building one; ``--rows`` is then only a label. ``--explain``
prints EXPLAIN ANALYZE of every timed SQL statement after the table.
The machine is shared: read medians, and compare figures only within one run.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

# Run as a script, bench/ comes first on the path: put this checkout before it, so `warehouse` is the
# package and no installed copy is imported.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import code_line, machine_line, maxrss_mb
from bench.synthetic_warehouse import MUNICIPALITIES, PERIOD_DAYS, RETENTION_DAYS, build, describe
from nlp.topics import TopicMatcher
from warehouse.queries import reach_gap, reach_gap_statement
from warehouse.report import TOP_TOPICS
from warehouse.report.gap import compare_method
from warehouse.report.queries import REPORT_SQL, headline_params

# ---- The SQL users run: `betrokken gap` and the report's come from their modules (imported above). ----

# What a researcher asks of v_latest_gap (migration 012, each municipality's latest period with its
# advice) for one municipality: the view holds the one definition of "latest", so it is not restated.
REACH_GAP_SQL = (
    "SELECT * EXCLUDE (advice) FROM v_latest_gap "
    "WHERE municipality = $m AND topic IS NULL AND channel IS NULL"
)
# A plain full scan and aggregate of posts: the baseline each query is compared with, so that figures
# taken while the shared machine is busier stay comparable.
BASELINE_SQL = "SELECT municipality_id, count(*), max(created_utc) FROM posts GROUP BY 1"
TOPIC_DAILY_SQL = "SELECT count(*) FROM v_topic_daily"
SENTIMENT_MONTHLY_SQL = """
    SELECT municipality_id, CAST(date_trunc('month', day) AS DATE) AS month, topic_id, source,
           sum(n_posts) AS n_posts, sum(mean_score * n_posts) / sum(n_posts) AS mean_score,
           sum(n_negative) AS n_negative, sum(n_neutral) AS n_neutral, sum(n_positive) AS n_positive
    FROM v_sentiment_daily GROUP BY ALL ORDER BY ALL"""


# ---- Timing helpers. ----


def size_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024**2
    return path.stat().st_size / 1024**2 if path.exists() else 0.0


@dataclass
class Timing:
    operation: str
    seconds: list[float]
    rows: int | None = None  # for build steps: rows written
    note: str = ""

    @property
    def first(self) -> float:
        return self.seconds[0]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)


BASELINE = "baseline: scan posts"


def repeat(operation: str, fn: Callable[[], Any], times: int, note: str = "") -> Timing:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return Timing(operation, seconds, note=note)


def print_table(timings: list[Timing]) -> None:
    width = max(len(t.operation) for t in timings) + 2
    base = next((t.median for t in timings if t.operation == BASELINE), None)
    print(
        f"{'operation':<{width}} {'first s':>9} {'median s':>9} {'min s':>9} {'x scan':>8} "
        f"{'rows/s':>12}  note"
    )
    for t in timings:
        rate = f"{t.rows / t.median:>12,.0f}" if t.rows else f"{'':>12}"
        measured = base and not t.operation.startswith("build")
        ratio = f"{t.median / base:>8.1f}" if measured else f"{'':>8}"
        print(
            f"{t.operation:<{width}} {t.first:>9.3f} {t.median:>9.3f} {t.best:>9.3f} {ratio} {rate}  {t.note}"
        )


# ---- Measuring. ----


def measure(path: Path, times: int, publish_times: int, explain: bool) -> tuple[list[Timing], list[str]]:
    import warehouse.report.gap as report_gap
    from profiles.gap import Thresholds
    from warehouse.db import connect
    from warehouse.estimates import EstimateSettings, period_for
    from warehouse.publish import write_export, write_snapshot
    from warehouse.report import ReportRequest, render_report

    con = connect(path)  # writable, as the nightly run's report and publish stages use it
    notes = describe(con)
    largest = con.execute(
        "SELECT municipality_id FROM posts WHERE municipality_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
    as_of, days = con.execute(REPORT_SQL["latest period"]).fetchone()
    start, end = period_for(as_of, days)
    params: dict[str, Any] = {
        "m": largest,
        "ms": [largest],
        "start": start,
        "end": end,
        "nlp": nlp,
        "model": "citisens",
    }
    settings = EstimateSettings(PERIOD_DAYS, "bayes", 1000, 0.9, 0, Thresholds())
    # The stored gap's groups and the sensitivity column's method, as the report reads them.
    gap = con.execute(*_used(REPORT_SQL["stored gap"], params))
    key = [column[0] for column in gap.description].index("group_key")
    params["groups"] = sorted({row[key] for row in gap.fetchall()})
    params["method"] = compare_method(settings.method)
    params["enriched_from"] = con.execute(*_used(REPORT_SQL["enriched_at bound"], params)).fetchone()[0]
    con.execute(*_used(REPORT_SQL["period topics (temp table)"], params))
    topics = con.execute(*_used(REPORT_SQL["topics + sentiment"], params)).fetchall()
    params["top"] = [r[0] for r in topics[:TOP_TOPICS]]
    params.update(headline_params(TopicMatcher()))
    timings = [repeat(BASELINE, lambda: con.execute(BASELINE_SQL).fetchall(), times)]
    statements: dict[str, tuple[str, dict[str, Any]]] = {
        f"reach gap, {largest}": _used(REACH_GAP_SQL, params),
        # `betrokken gap` with no --municipality, --topic or --period.
        "gap, all municipalities": reach_gap_statement(),
    }
    sql, used = statements[f"reach gap, {largest}"]
    timings.append(repeat(f"reach gap, {largest}", lambda: con.execute(sql, used).fetchall(), times))
    timings.append(repeat("gap, all municipalities", lambda: reach_gap(con), times))

    # render_report for one municipality; the stored estimates are used unless compute_estimates runs
    # (called from warehouse.report.gap, so counted there).
    calls: list[int] = []
    original = report_gap.compute_estimates

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    report_gap.compute_estimates = counting
    try:
        timing = repeat(
            f"render_report, {largest}",
            lambda: render_report(con, ReportRequest(municipality=largest), settings),
            times,
        )
    finally:
        report_gap.compute_estimates = original
    # The summary always checks its findings over the other comparison period (30 or 90 days),
    # which costs one in-memory estimate per municipality unless that period is stored too.
    runs_per_report = len(calls) // max(1, times)
    timing.note = f"compute_estimates per report: {runs_per_report} (period not stored, or the comparison)"
    timings.append(timing)
    report_statements = {name: _used(sql, params) for name, sql in REPORT_SQL.items()}
    for name, (sql, used) in report_statements.items():
        timings.append(
            repeat(
                f"  report SQL: {name}", lambda sql=sql, used=used: con.execute(sql, used).fetchall(), times
            )
        )
    sql_total = sum(t.median for t in timings if t.operation.startswith("  report SQL"))
    notes.append(
        f"render_report median {timing.median:.3f} s, of which its SQL statements above take about "
        f"{sql_total:.3f} s; the rest is Python, altair/vl-convert charts and the template"
    )

    researcher = {
        "v_topic_daily count(*)": (TOPIC_DAILY_SQL, {}),
        "v_sentiment_daily by month": (SENTIMENT_MONTHLY_SQL, {}),
    }
    for name, (sql, used) in researcher.items():
        timings.append(repeat(name, lambda sql=sql, used=used: con.execute(sql, used).fetchall(), times))
    snapshot = path.with_name(path.stem + ".snapshot.duckdb")
    export = path.parent / "export"
    timings.append(repeat("write_snapshot", lambda: write_snapshot(con, snapshot), publish_times))
    timings.append(repeat("write_export, full", lambda: write_export(con, export, full=True), publish_times))
    timings.append(repeat("write_export, nothing changed", lambda: write_export(con, export), publish_times))
    # A night's changes, rolled back afterwards: the purge of one day's texts (as the nightly purge
    # does) and items of the newest day deleted at the source (as the store stage marks them).
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "UPDATE posts SET text = NULL, title = NULL, text_purged_at = now() "
            "WHERE CAST(created_utc AS DATE) = $day",
            {"day": end - timedelta(days=RETENTION_DAYS - 10)},
        )
        con.execute(
            "UPDATE posts SET is_deleted = true, text = NULL, title = NULL, author_key = NULL "
            "WHERE CAST(created_utc AS DATE) = $day AND hash(post_id) % 20 = 0",
            {"day": end},
        )
        started = time.perf_counter()
        written = write_export(con, export)
        note = "partitions rewritten: " + ", ".join(f"{k} {v}" for k, v in written.items())
        timings.append(
            Timing("write_export, after a night's changes", [time.perf_counter() - started], note=note)
        )
    finally:
        con.execute("ROLLBACK")
    notes.append(f"snapshot {size_mb(snapshot):,.1f} MiB, Parquet export {size_mb(export):,.1f} MiB")
    if explain:
        for name, (sql, used) in {**statements, **report_statements, **researcher}.items():
            print(f"\n---- EXPLAIN ANALYZE {name}")
            for _, plan in con.execute("EXPLAIN ANALYZE " + sql, used).fetchall():
                print(plan)
    con.close()
    return timings, notes


def _used(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement with only the parameters it names (DuckDB rejects unused ones)."""
    return sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, required=True, help="posts in the warehouse")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each query")
    parser.add_argument("--keep", type=Path, help="write the warehouse here and keep it")
    parser.add_argument("--reuse", type=Path, help="measure this warehouse (built with --keep) as it is")
    parser.add_argument("--days", type=int, default=365, help="days of posts and nightly runs")
    parser.add_argument("--nights", type=int, help="nightly estimate periods kept (default: --days)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the SQL")
    parser.add_argument(
        "--publish-repeat",
        type=int,
        help="repetitions of write_snapshot and write_export (default: --repeat)",
    )
    args = parser.parse_args()
    nights = min(args.nights or args.days, args.days)
    print(machine_line())
    print(code_line())
    print(
        f"warehouse of {args.rows:,} posts over {args.days} days, {nights} nightly estimate periods, "
        f"{len(MUNICIPALITIES)} municipalities; queries repeated {args.repeat} times"
    )
    tmp = None
    if args.reuse:
        path = args.reuse.resolve()
        if not path.exists():
            parser.error(f"--reuse {path}: no warehouse there")
    elif args.keep:
        path = args.keep.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="betrokken-bench-warehouse-"))
        path = tmp / "warehouse.duckdb"
    try:
        timings = []
        if not args.reuse:
            started = time.perf_counter()
            timings = [
                Timing(f"build: {step}", [seconds], rows=rows)
                for step, seconds, rows in build(path, args.rows, args.days, nights)
            ]
            build_s = time.perf_counter() - started
            timings.append(Timing("build: total", [build_s], rows=args.rows, note="rows/s = posts/s"))
            wal = path.with_name(path.name + ".wal")
            print(
                f"built in {build_s:.1f} s ({args.rows / build_s:,.0f} posts/s overall); file "
                f"{size_mb(path):,.1f} MiB{f' + WAL {size_mb(wal):,.1f} MiB' if wal.exists() else ''}; "
                f"peak RSS so far {maxrss_mb():,.0f} MiB"
            )
        else:
            print(f"reusing {path} ({size_mb(path):,.1f} MiB), built earlier; not rebuilt")
        measured_from = time.perf_counter()
        measured, notes = measure(path, args.repeat, args.publish_repeat or args.repeat, args.explain)
        print()
        print_table(timings + measured)
        print()
        for note in notes:
            print(note)
        print(
            f"warehouse file {size_mb(path):,.1f} MiB at {path if tmp is None else '(temporary)'}; "
            "peak RSS of "
            f"this process {maxrss_mb():,.0f} MiB; measuring took {time.perf_counter() - measured_from:.0f} s"
        )
        print(machine_line().replace("machine:", "machine at the end:"))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
