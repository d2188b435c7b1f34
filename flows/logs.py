"""What a run logs through Prefect, readable under cron and systemd and by log collectors.

Prefect logs a failed task with its full traceback, and then once more that it finished failed: a
feed answering 404 took some 25 lines of a nightly log, the same for every failing source. A
source that fails for a reason the run expects (``SourceError``: an HTTP error, a refused login,
a response that is no feed, a rate limit) is one warning line instead; its reason is in the run
record and the run's summary. So is a run that does not start because another one is running.
An unexpected error keeps its traceback, but only once: Prefect logs an exception raised in a
task again where the flow fails of it.

``--log-format json`` has Prefect's lines written as JSON objects as well, one per line (the
run's own events are written by the CLI, ``flows.commands.operate``).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from sources.base import SourceError
from warehouse.lock import RunInProgress

LOG_FORMATS = ("text", "json")
# A source that fails (the run goes on), and a run that does not start because another holds the
# warehouse (exit 4): both are said in one line by the run's summary or the CLI.
EXPECTED: tuple[type[BaseException], ...] = (SourceError, RunInProgress)
RUN_LOGGERS = ("prefect.task_runs", "prefect.flow_runs")
_SHOWN_MAX = 100  # unexpected errors whose traceback was shown, remembered by identity


class ExpectedFailures(logging.Filter):
    """On Prefect's run loggers: an expected failure as one warning line, an unexpected error's
    traceback once. One instance on both loggers, so a task's error is known where the flow logs it."""

    def __init__(self) -> None:
        super().__init__()
        self._failed_expectedly: set[str] = set()  # task and flow run ids
        self._shown: list[BaseException] = []

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        task_run = getattr(record, "task_run_id", None)
        run = str(task_run or f"flow {getattr(record, 'flow_run_id', None)}")
        if isinstance(error, EXPECTED):
            self._failed_expectedly.add(run)
            if task_run:  # a source's collection: the others go on
                record.msg, record.args = f"failed, the run goes on without it: {error}", ()
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info, record.exc_text = None, None
            return True
        if error is None:
            # "Finished in state Failed(...)" after the line above: said already
            return not (record.levelno >= logging.ERROR and run in self._failed_expectedly)
        if any(error is shown for shown in self._shown):
            record.exc_info, record.exc_text = None, None
        else:
            self._shown = [*self._shown[-_SHOWN_MAX + 1 :], error]
        return True


_FILTER = ExpectedFailures()


class JsonLines(logging.Formatter):
    """A log record as one JSON object on one line; a traceback is a field of it, not more lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "event": "log",
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in ("task_run_name", "flow_run_name"):
            if getattr(record, field, None):
                line[field.removesuffix("_name")] = getattr(record, field)
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def quiet_expected_failures() -> None:
    """Put the filter on Prefect's run loggers of this process (once, however often it is called)."""
    for name in RUN_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def use_log_format(log_format: str) -> None:
    """Prefect's log lines of this process in ``log_format`` ("text" or "json"), expected failures
    quiet in either. (The sources are collected in this process, whatever the NLP's runner.)"""
    import prefect.main  # noqa: F401  (sets up Prefect's logging, which is changed here)

    quiet_expected_failures()
    if log_format != "json":
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ == "PrefectConsoleHandler":
            # a plain stream handler: Prefect's draws with rich, which may rewrite text
            json_handler = logging.StreamHandler(sys.stderr)
            json_handler.setLevel(handler.level)
            json_handler.setFormatter(JsonLines())
            root.removeHandler(handler)
            root.addHandler(json_handler)
