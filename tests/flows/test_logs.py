"""What a nightly run writes for whoever reads its log: the run's lines per source (a table at a
terminal, plain lines without one), Prefect's lines about failures, and ``--log-format json``.

The end-to-end tests run ``betrokken run`` in a subprocess, where stdout is no terminal, as under
cron or systemd, against feeds served on 127.0.0.1."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from flows.commands.tables import run_lines, run_table
from flows.logs import ExpectedFailures, JsonLines
from sources.base import SourceError
from sources.sample import SAMPLE_DIR
from tests import REPO
from warehouse.lock import RunInProgress, RunLock

LONG_REASON = "Lokaal: HTTP 404 from https://nieuws.example.org/" + "rubriek/" * 30 + "feed.rss"
BOX = set("│┃━─┏┗┡╇")


def _source(key: str, **kw) -> dict:
    row = {
        "source_key": key,
        "status": "ok",
        "fetched": 0,
        "new": 0,
        "duplicate": 0,
        "duration_s": 0.5,
        "reason": None,
        "warnings": [],
        "skipped_empty": 0,
        "truncated": 0,
        "repeated": 0,
    }
    return {**row, **kw}


SUMMARY = {
    "run_id": 7,
    "status": "partial",
    "sources": [
        _source("rss:utrecht:Domstad", fetched=12, new=12, repeated=1),
        _source(
            "rss:utrecht:Half",
            fetched=13,
            warnings=["Half: truncated XML at line 119; kept 13 entries before it"],
        ),
        _source("rss:utrecht:Lokaal", status="failed", reason=LONG_REASON),
    ],
}


def test_run_table_shows_a_sources_warnings_and_its_repeated_items() -> None:
    out = Console(file=io.StringIO(), width=250, record=True)
    out.print(run_table(SUMMARY))
    text = out.export_text()
    domstad = next(line for line in text.splitlines() if "rss:utrecht:Domstad" in line)
    assert [cell.strip() for cell in domstad.split("│")[3:6]] == ["12", "1", "12"]  # fetched, rep, new
    assert "warning: Half: truncated XML at line 119; kept 13 entries before it" in text


def test_run_lines_give_each_source_one_whole_line_without_box_drawing() -> None:
    lines = run_lines(SUMMARY)
    assert lines == [
        "Run 7: partial",
        "rss:utrecht:Domstad: ok, 12 fetched (1 repeated item skipped), 12 new, 0 dup, 0 empty, 0 cut, "
        "0.50 s",
        "rss:utrecht:Half: ok, 13 fetched, 0 new, 0 dup, 0 empty, 0 cut, 0.50 s; "
        "warning: Half: truncated XML at line 119; kept 13 entries before it",
        f"rss:utrecht:Lokaal: failed, 0.50 s; {LONG_REASON}",
    ]
    assert not BOX & set("".join(lines))


@pytest.fixture
def prefect_log() -> Iterator[tuple[logging.Logger, logging.Logger, io.StringIO]]:
    """Two loggers standing in for Prefect's task and flow run loggers, with the filter on both,
    writing to one stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    loggers = tuple(logging.getLogger(f"test-logs.{name}") for name in ("task_runs", "flow_runs"))
    only = ExpectedFailures()
    for logger in loggers:
        logger.propagate = False
        logger.addHandler(handler)
        logger.addFilter(only)
    yield loggers[0], loggers[1], stream
    for logger in loggers:
        logger.removeHandler(handler)
        logger.removeFilter(only)


def _raised(error: BaseException) -> BaseException:
    try:
        raise error
    except BaseException as exc:
        return exc


def test_an_expected_failure_is_one_warning_line_without_traceback(prefect_log) -> None:
    tasks, _, stream = prefect_log
    error = _raised(SourceError("Lokaal: HTTP 404 from https://example.org/feed.rss"))
    run = {"task_run_id": "t-1"}
    tasks.error("Task run failed with exception: %r", error, exc_info=error, extra=run)
    tasks.error("Finished in state Failed('Task run encountered an exception SourceError')", extra=run)
    tasks.error(
        "Finished in state Failed('Task run encountered an exception SourceError')",
        extra={"task_run_id": "t-2"},
    )
    assert stream.getvalue().splitlines() == [
        "WARNING failed, the run goes on without it: Lokaal: HTTP 404 from https://example.org/feed.rss",
        "ERROR Finished in state Failed('Task run encountered an exception SourceError')",  # another task's
    ]


def test_a_run_that_finds_the_warehouse_busy_is_one_warning_line(prefect_log) -> None:
    _, flows, stream = prefect_log
    error = _raised(RunInProgress("w.duckdb: a run is already in progress (pid 1)"))
    run = {"flow_run_id": "f-1"}
    flows.error("Encountered exception during execution: %r", error, exc_info=error, extra=run)
    flows.error("Finished in state Failed('Flow run encountered an exception: RunInProgress')", extra=run)
    assert stream.getvalue().splitlines() == [
        "WARNING Encountered exception during execution: "
        "RunInProgress('w.duckdb: a run is already in progress (pid 1)')"
    ]


def test_an_unexpected_error_keeps_its_traceback_once_where_task_and_flow_log_it(prefect_log) -> None:
    tasks, flows, stream = prefect_log
    error = _raised(IsADirectoryError(21, "Is a directory"))
    tasks.error("Task run failed with exception: %r", error, exc_info=error, extra={"task_run_id": "t-3"})
    flows.error("Encountered exception during execution: %r", error, exc_info=error)
    text = stream.getvalue()
    assert text.count("Traceback (most recent call last)") == 1
    assert text.count("IsADirectoryError(21, 'Is a directory')") == 2  # both lines, one traceback


def test_a_log_record_as_json_is_one_line_with_its_traceback_as_a_field() -> None:
    error = _raised(ValueError("kapot"))
    record = logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "boom %s", ("x",), None)
    record.exc_info = (type(error), error, error.__traceback__)
    line = JsonLines().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "log" and parsed["level"] == "ERROR" and parsed["message"] == "boom x"
    assert parsed["traceback"].startswith("Traceback") and "ValueError: kapot" in parsed["traceback"]


def test_run_an_unknown_log_format_is_one_line_and_exit_2(minimal_config: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    result = CliRunner().invoke(app, ["run", "--config", str(minimal_config), "--log-format", "xml"])
    assert result.exit_code == 2
    assert result.output.strip() == "--log-format: expected one of text, json, got 'xml'"


# ---- `betrokken run` in a subprocess: stdout is no terminal, as under cron. ----

FAILING = ("Weg1", "Weg2", "Weg3", "Weg4", "Weg5")


@pytest.fixture
def feeds_config(httpserver, tmp_path: Path) -> Path:
    """A config of eight feeds: one whole (listing a guid twice), one cut off after some items, one
    empty answer and five that answer 404."""
    whole = (SAMPLE_DIR / "feeds" / "domstad-nieuws.rss").read_bytes()
    rss = "application/rss+xml"
    httpserver.expect_request("/ok.rss").respond_with_data(whole, content_type=rss)
    httpserver.expect_request("/half.rss").respond_with_data(whole[: len(whole) // 2], content_type=rss)
    httpserver.expect_request("/empty.rss").respond_with_data(b"", content_type=rss)
    feeds = [("Lokaal", "/ok.rss"), ("Half", "/half.rss"), ("Leeg", "/empty.rss")]
    for name in FAILING:
        httpserver.expect_request(f"/{name.lower()}.rss").respond_with_data("weg", status=404)
        feeds.append((name, f"/{name.lower()}.rss"))
    tables = "".join(
        f'  [[municipalities.feeds]]\n  name = "{name}"\n  url = "{httpserver.url_for(path)}"\n'
        for name, path in feeds
    )
    config = tmp_path / "live.toml"
    config.write_text(
        '[warehouse]\npath = "w.duckdb"\n[collect]\nretries = 1\nbackoff_s = 0\n\n'
        '[[municipalities]]\nid = "utrecht"\nname = "Utrecht"\ncbs_code = "GM0344"\nplaces = ["Lombok"]\n'
        + tables
    )
    return config


def _run(config: Path, *options: str) -> subprocess.CompletedProcess:
    from prefect.settings import get_current_settings

    env = {**os.environ, "PREFECT_API_URL": str(get_current_settings().api.url)}  # the test's server
    env.pop("PREFECT_LOGGING_LEVEL", None)  # the CLI's own default, as under cron
    command = [sys.executable, "-m", "flows.cli", "run", "--config", str(config), "--as-of", "2026-11-25"]
    return subprocess.run(
        [*command, *options], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_run_without_a_terminal_writes_a_line_per_source_and_no_traceback_for_expected_failures(
    prefect_harness, feeds_config: Path
) -> None:
    run = _run(feeds_config)
    assert run.returncode == 3, run.stderr
    out, log = run.stdout.splitlines(), run.stderr.splitlines()
    assert "Traceback" not in run.stdout + run.stderr
    assert not BOX & set(run.stdout)
    lines = {line.split(":")[2]: line for line in out if line.startswith("rss:utrecht:")}
    assert len(lines) == sum(line.startswith("rss:utrecht:") for line in out) == 8
    assert "25 fetched (1 repeated item skipped), 25 new" in lines["Lokaal"]
    assert "; warning: Half: truncated XML at line" in lines["Half"]
    assert "; Leeg: empty response" in lines["Leeg"]
    for name in FAILING:
        assert f"{name}: HTTP 404 from http://" in lines[name] and "(after 1 retries)" in lines[name]
    # Prefect's own log: one line per failing source, naming it
    assert len(log) == len(FAILING) + 1, run.stderr
    assert all("WARNING" in line and "failed, the run goes on without it" in line for line in log)
    # the title, 8 sources, counts, stage times and 4 paths: 15 lines on stdout, 6 on stderr in all
    assert len(out) == 15, run.stdout


def test_run_log_format_json_is_one_json_object_per_line(prefect_harness, feeds_config: Path) -> None:
    run = _run(feeds_config, "--log-format", "json")
    assert run.returncode == 3, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    logged = [json.loads(line) for line in run.stderr.splitlines()]
    assert [e["event"] for e in events] == ["run_start", *["source"] * 8, "run_end"]
    assert events[-1]["status"] == "partial" and events[-1]["exit_code"] == 3
    assert events[-1]["run_id"] == events[1]["run_id"] == 1
    sources = {e["source_key"]: e for e in events if e["event"] == "source"}
    assert sources["rss:utrecht:Lokaal"]["fetched"] == 25 and sources["rss:utrecht:Lokaal"]["repeated"] == 1
    assert (
        sources["rss:utrecht:Weg3"]["status"] == "failed"
        and "HTTP 404" in sources["rss:utrecht:Weg3"]["reason"]
    )
    assert sources["rss:utrecht:Half"]["warnings"][0].startswith("Half: truncated XML at line")
    assert len(logged) == len(FAILING) + 1
    assert {e["level"] for e in logged} == {"WARNING"} and not any("traceback" in e for e in logged)


def test_run_an_unexpected_error_gets_its_traceback_once(prefect_harness, feeds_config: Path) -> None:
    (feeds_config.parent / "report.html").mkdir()  # the report cannot be written: not a source's failure
    run = _run(feeds_config)
    assert run.returncode == 1
    assert run.stderr.count("Traceback (most recent call last)") == 1, run.stderr
    assert run.stderr.rstrip().splitlines()[-1].startswith("Run failed: IsADirectoryError")
    # the failing feeds before it stay one line each
    assert sum("failed, the run goes on without it" in line for line in run.stderr.splitlines()) == 6


def test_run_that_finds_another_run_busy_says_so_in_one_line(prefect_harness, feeds_config: Path) -> None:
    with RunLock(feeds_config.parent / "w.duckdb"):
        run = _run(feeds_config)
    assert run.returncode == 4
    assert "Traceback" not in run.stderr
    log = run.stderr.splitlines()
    assert len(log) == 2, run.stderr  # Prefect's warning, the CLI's "Not started"
    assert log[-1].startswith("Not started: ") and "a run is already in progress" in log[-1]
