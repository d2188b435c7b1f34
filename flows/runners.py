"""Where the enrichment stage computes: threads in this process, a process pool, or a Dask cluster.

Only the NLP runs on the chosen runner; workers receive texts and return results, and every write
stays in the flow process (DuckDB has one writer).
"""

from __future__ import annotations

import os

from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner

RUNNERS = ("threads", "processes", "dask")


class RunnerError(ValueError):
    """An unknown runner, or the Dask extra missing."""


def make_runner(name: str, workers: int | None = None, dask_address: str | None = None) -> TaskRunner:
    """A Prefect task runner; ``dask_address`` (tcp://host:8786) uses an existing cluster, without
    it the dask runner starts a local cluster of ``workers`` processes.

    "threads" runs the NLP in this process, one thread by default: spaCy holds the GIL while it
    tokenises, so more threads gain little; "processes" and "dask" default to one worker per core.
    """
    if name == "threads":
        return ThreadPoolTaskRunner(max_workers=workers or 1)
    workers = workers or os.cpu_count() or 1
    if name == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    if name == "dask":
        try:
            from prefect_dask import DaskTaskRunner
        except ImportError:
            raise RunnerError("the dask runner needs the dask extra: pip install 'betrokken[dask]'") from None
        if dask_address:
            return DaskTaskRunner(address=dask_address)
        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1})
    raise RunnerError(f"unknown runner {name!r}; choose one of {', '.join(RUNNERS)}")


def tasks_for(name: str, workers: int | None = None) -> int | None:
    """How many enrichment tasks to make on this runner: None (one per batch) in threads, else four
    per worker. Through Prefect, a task on the process pool cost about 2 s of bookkeeping and
    start-up on a busy 2-core machine; a handful per worker keeps them all busy to the end."""
    if name == "threads":
        return None
    return 4 * (workers or os.cpu_count() or 1)
