"""Where the enrichment stage computes: threads in this process, a process pool, or a Dask cluster.

Only the NLP runs on the chosen runner; workers receive texts and return results, and every write
stays in the flow process (DuckDB has one writer).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_ALLOW_EPHEMERAL_MODE, temporary_settings
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

from common.extras import needs_extra
from flows.workers import default_workers, setup_worker

RUNNERS = ("threads", "processes", "dask")


class RunnerError(ValueError):
    """An unknown runner, or the Dask extra missing."""


def make_runner(name: str, workers: int | None = None, dask_address: str | None = None) -> TaskRunner:
    """A Prefect task runner; ``dask_address`` (tcp://host:8786) uses an existing cluster, without
    it the dask runner starts a local cluster of ``workers`` processes.

    "threads" runs the NLP in this process, one thread by default: spaCy holds the GIL while it
    tokenises, so more threads gain little. "processes" and "dask" default to one worker per core
    but one (see ``default_workers``).
    """
    if name == "threads":
        return ThreadPoolTaskRunner(max_workers=workers or 1)
    workers = workers or default_workers(name)
    if name == "processes":
        return ProcessPoolTaskRunner(max_workers=workers, initializer=setup_worker, initargs=(os.getpid(),))
    if name == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise RunnerError(needs_extra("the dask runner", "dask")) from None
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
    raise RunnerError(f"unknown runner {name!r}; choose one of {', '.join(RUNNERS)}")


@contextmanager
def one_prefect_api() -> Iterator[str | None]:
    """Every process of a run talks to one Prefect API; yields its URL.

    Without ``PREFECT_API_URL`` Prefect starts a local server in whichever process first needs
    one, and a worker process of the processes or Dask runner does not inherit the flow
    process's: each worker started a server of its own (measured: 10 s of CPU and ~250 MB per
    worker, on two cores shared with the run). So the flow process starts the local server
    first and hands its address to its workers, as a configured ``PREFECT_API_URL`` would be.
    """
    url = PREFECT_API_URL.value()
    if url or not PREFECT_SERVER_ALLOW_EPHEMERAL_MODE.value():
        yield url  # a configured server, or none allowed (Prefect then says so itself)
        return
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()  # the one Prefect would start here anyway; stopped at exit
    server.start()
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield server.api_url
