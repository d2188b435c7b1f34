"""Commands for whoever runs the nightly job: demo, run, check, sources check and serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from common.extras import needs_extra
from flows.commands.common import (
    EXIT_BUSY,
    EXIT_FAILED,
    EXIT_PARTIAL,
    check_backends,
    check_config,
    console,
    fail,
    parse_as_of,
    plural,
    write_json_line,
)
from flows.commands.options import ConfigOption, DaskAddressOption, RunnerOption, WorkersOption
from flows.commands.tables import ShareRow, probe_table, run_lines, run_table, share_table


def run_flow(log_format: str = "text", **params: Any) -> dict[str, Any]:
    """Run the nightly flow; a run already in progress or a failure ends the command with its code
    (in JSON, as a ``run_end`` event with that status)."""
    from flows.nightly import nightly
    from warehouse.lock import RunInProgress

    try:
        return nightly(**params)
    except RunInProgress as exc:
        if log_format != "json":
            fail(str(exc), EXIT_BUSY, "Not started:", "yellow")
        log_event("run_end", status="not_started", reason=str(exc), exit_code=EXIT_BUSY)
        raise typer.Exit(EXIT_BUSY) from None
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if log_format != "json":
            fail(error, EXIT_FAILED, "Run failed:")
        log_event("run_end", status="failed", error=error, exit_code=EXIT_FAILED)
        raise typer.Exit(EXIT_FAILED) from None


def log_event(event: str, **fields: Any) -> None:
    """One event of ``run --log-format json``: a JSON object on a line of its own, with its time.
    Fields are counts, statuses, source keys and reasons: never a secret, never a person."""
    from datetime import UTC, datetime

    time = datetime.now(UTC).isoformat(timespec="milliseconds")
    write_json_line({"event": event, "time": time, **fields}, ensure_ascii=False, default=str)


def log_run(summary: dict[str, Any], exit_code: int) -> None:
    """A finished run as JSON events: one per source, then ``run_end`` with the totals."""
    run_id = summary["run_id"]
    for source in summary["sources"]:
        log_event("source", run_id=run_id, **source)  # the fields of its row in run_sources
    totals = ("status", "posts_new", "posts_enriched", "estimates", "text_purged", "stage_seconds", "notes")
    paths = {k: str(Path(summary[k]).resolve()) for k in PATHS if summary.get(k)}
    log_event("run_end", run_id=run_id, **{k: summary[k] for k in totals}, **paths, exit_code=exit_code)


def runner_params(runner: str, workers: int | None, dask_address: str | None) -> dict[str, Any]:
    """The flow's runner parameters, checked before the flow starts (dask needs its extra)."""
    from flows.runners import RUNNERS

    if runner not in RUNNERS:
        fail(f"--runner: expected one of {', '.join(RUNNERS)}, got {runner!r}")
    if dask_address is not None and runner != "dask":
        fail("--dask-address needs --runner dask")
    if runner == "dask":
        try:
            import prefect_dask  # noqa: F401
        except ImportError:
            fail(needs_extra("--runner dask", "dask"))
    return {"runner": runner, "workers": workers, "dask_address": dask_address}


PATHS = ("warehouse", "snapshot", "export", "report")


def print_line(text: str) -> None:
    """A line of a run's summary as it is: never wrapped (a log without a terminal is 80 columns
    wide to rich), no markup read in it."""
    console.print(text, soft_wrap=True, markup=False, emoji=False, highlight=False)


def print_paths(summary: dict[str, Any]) -> None:
    for label in PATHS:
        if summary.get(label):
            print_line(f"{label + ':':<10} {Path(summary[label]).resolve()}")


def print_summary(summary: dict[str, Any]) -> None:
    """The run's sources, its counts and stage times, and its notes: a table on a terminal; without
    one (cron, systemd) plain lines, one whole line per source, so a log keeps each reason whole."""
    if console.is_terminal:
        console.print(run_table(summary))
    else:
        for line in run_lines(summary):
            print_line(line)
    print_line(
        f"posts new: {summary['posts_new']}, enriched: {summary['posts_enriched']}, "
        f"estimate rows: {summary['estimates']}, texts purged after retention: {summary['text_purged']}"
    )
    stages = ", ".join(f"{k} {v:.1f}s" for k, v in summary["stage_seconds"].items())
    if stages:
        print_line(f"stages: {stages}")
    for note in summary["notes"]:
        console.print(note, style="yellow", markup=False, soft_wrap=True)


def print_demo_shares(warehouse: Path, intended: dict[str, Any] | None) -> None:
    """Per municipality, the estimated online share per profile beside the mix the sample was written with."""
    from warehouse.db import connect
    from warehouse.queries import overall_shares

    with connect(warehouse, read_only=True) as con:
        rows = overall_shares(con)
    by_municipality: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_municipality.setdefault(row["municipality"], []).append(row)
    for municipality, items in by_municipality.items():
        mix = (intended or {}).get(municipality)
        extra = None
        if mix:
            total = sum(mix.values())
            extra = (
                "intended mix of the sample",
                [f"{mix.get(r['profile_id'], 0) / total:.0%}" for r in items],
            )
        shares = [ShareRow.from_gap_row(r) for r in items]
        title = f"{municipality}: online share per profile ({plural(items[0]['n_voices'], 'voice')})"
        columns = ("profile", "population", "online", "status")
        console.print(share_table(title, shares, columns, "online (90% interval)", extra))


def demo(
    out: Annotated[Path, typer.Option(help="Folder for warehouse.duckdb and report.html.")] = Path(
        "betrokken-demo"
    ),
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Run the nightly flow on the bundled sample corpus (no network, no accounts).

    Example: betrokken demo --out /tmp/demo
    """
    from flows.commands.demo_figures import measure, summary_line
    from sources.sample import demo_config_path, intended_mix, sample_end

    if out.exists() and not out.is_dir():
        fail(f"--out {out}: that is a file; give a folder (it is made when missing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        fail(f"--out {out}: cannot make that folder ({exc.strerror or exc})")
    warehouse = out / "warehouse.duckdb"
    report = out / "report.html"
    summary = run_flow(
        config_path=str(demo_config_path()),
        mode="sample",
        warehouse_path=str(warehouse),
        report_path=str(report),
        as_of=sample_end().date(),
        **runner_params(runner, workers, dask_address),
    )
    print_summary(summary)
    print_demo_shares(warehouse, intended_mix()["voices"])
    console.print(summary_line(measure(warehouse, intended_mix()["voices"])))
    console.print(
        "The intended mix is what this project wrote the sample with; the evidence was fitted on "
        "other voices, written by two writers outside the project. A small check, not a validation."
    )
    print_paths(summary)


def run(
    config: ConfigOption,
    as_of: Annotated[str | None, typer.Option(help="Last day of the estimation period, YYYY-MM-DD.")] = None,
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
    log_format: Annotated[
        str,
        typer.Option(
            help="text: a table on a terminal, plain lines without one (cron, systemd); "
            "json: one JSON object per line, for log collectors."
        ),
    ] = "text",
) -> None:
    """Run the nightly job on the live sources of a configuration.

    Exit codes: 0 done, 1 failed, 2 configuration error, 3 done but a source failed,
    4 not started because another run holds the warehouse.

    Example: betrokken run --config betrokken.toml
    """
    from flows.logs import LOG_FORMATS, use_log_format

    if log_format not in LOG_FORMATS:
        fail(f"--log-format: expected one of {', '.join(LOG_FORMATS)}, got {log_format!r}")
    check_backends(check_config(config), config)
    day = parse_as_of(as_of)
    params = runner_params(runner, workers, dask_address)
    use_log_format(log_format)
    if log_format == "json":
        log_event("run_start", config=str(config.resolve()), mode="live", as_of=day, runner=runner)
    summary = run_flow(log_format, config_path=str(config), mode="live", as_of=day, **params)
    exit_code = EXIT_PARTIAL if summary["status"] == "partial" else 0
    if log_format == "json":
        log_run(summary, exit_code)
    else:
        print_summary(summary)
        print_paths(summary)
    if exit_code:
        raise typer.Exit(exit_code)


def check(config: ConfigOption) -> None:
    """Validate a configuration file and its profile model without running anything.

    Also checks that the NLP backends it names can load here (a transformer backend needs the
    transformers extra). Example: betrokken check --config betrokken.toml
    """
    settings = check_config(config)
    check_backends(settings, config)
    console.print(
        f"{config}: valid; {plural(len(settings.municipalities), 'municipality', 'municipalities')}, "
        f"profile model {settings.profile_model!r}, warehouse {settings.warehouse.path}",
        markup=False,
    )


def sources_check(config: ConfigOption) -> None:
    """Validate the config, reach each source once and print what came back.

    Exits 1 when any source failed; Reddit without credentials is reported as skipped.

    Example: betrokken sources check --config betrokken.toml
    """
    settings = check_config(config)
    from flows.wiring import live_sources
    from sources.base import SourceError
    from sources.pseudonym import Pseudonymiser
    from sources.registry import SOURCES

    notes: list[str] = []
    # A throwaway key: probing stores nothing, so no author key is ever made with it.
    sources = live_sources(settings, Pseudonymiser(os.urandom(32)), notes)
    rows: list[tuple[str, str, int, str]] = []
    failed = 0
    for source in sources:
        try:
            rows.append((source.key, "ok", source.probe(), ""))
        except SourceError as exc:
            failed += 1
            rows.append((source.key, "failed", 0, str(exc)))
    platform_of = {p.absent_note: p.name for p in SOURCES.values()}
    rows.extend((platform_of.get(note, "-"), "skipped", 0, note) for note in notes)
    console.print(probe_table(f"Sources in {config}", rows))
    if failed:
        raise typer.Exit(EXIT_FAILED)


def serve(
    config: ConfigOption,
    cron: Annotated[str, typer.Option(help="When to run, in Europe/Amsterdam time.")] = "0 2 * * *",
    runner: RunnerOption = "threads",
    workers: WorkersOption = None,
    dask_address: DaskAddressOption = None,
) -> None:
    """Serve the nightly job as a Prefect deployment on a cron schedule (Europe/Amsterdam).

    Needs a Prefect server (prefect server start) and PREFECT_API_URL pointing to it; this process
    then runs every scheduled run until stopped. Example: betrokken serve -c betrokken.toml
    """
    from prefect import serve as prefect_serve
    from prefect.client.schemas.schedules import CronSchedule
    from pydantic import ValidationError

    from flows.schedule import TIME_ZONE, nightly_deployment

    check_backends(check_config(config), config)
    try:
        CronSchedule(cron=cron, timezone=TIME_ZONE)
    except ValidationError:
        fail(f"--cron: not a cron expression: {cron!r} (example: '0 2 * * *' is 02:00 every night)")
    params = runner_params(runner, workers, dask_address)
    deployment = nightly_deployment(config, cron, params["runner"], params["dask_address"])
    console.print(
        f"serving deployment betrokken-nightly/{deployment.name}, cron {cron!r} {TIME_ZONE}", markup=False
    )
    prefect_serve(deployment)
