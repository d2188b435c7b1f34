"""How many processes compute the enrichment, in how many tasks, and their set-up; kept free of
Prefect, so that the bench's direct way uses the same."""

from __future__ import annotations

import gc
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Python's cyclic garbage collector makes a young collection every 700 net allocations of container
# objects and a full one whenever the long-lived objects grew by a quarter. The store builds
# millions of small tuples and holds whole deliveries, the NLP holds word caches of up to 500,000
# entries: at 100k posts collections took 2.5 s of the store and 2.4 s of the worker's NLP (about
# 8%), 0.0 and 0.25 s with these thresholds. Neither makes reference cycles that need collecting
# sooner; the young generation still holds at most 100,000 objects.
GC_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def fewer_gc_collections() -> Iterator[None]:
    """``GC_THRESHOLDS`` while a run lasts; the caller's own thresholds afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def setup_worker(parent: int) -> None:
    """Initializer of a process-pool worker: ``GC_THRESHOLDS`` for its life, and ``exit_with_parent``."""
    gc.set_threshold(*GC_THRESHOLDS)
    exit_with_parent(parent)


def exit_with_parent(parent: int) -> None:
    """Worker initializer: end this worker once the flow process that started it is gone.

    A flow process killed outright (SIGKILL, the OOM killer) cannot stop its pool, and an idle
    worker waits for work forever, holding its memory and the run's output pipes. A thread here
    notices within a second that the worker's parent has changed.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def default_workers(name: str) -> int:
    """Workers of a runner when none are asked for. Threads: one. Processes and Dask: one per core
    but one, because the flow process stores the posts (and then writes the results) while the
    workers compute: at 100,000 posts on two cores, two workers made the run slower than one
    (69 vs 63 s direct, 90 vs 69 s through Prefect) and used 1.9 instead of 1.6 GB."""
    if name == "threads":
        return 1
    return max(1, (os.cpu_count() or 1) - 1)


def tasks_for(name: str, workers: int | None = None) -> int:
    """Into how many tasks the enrichment's batches are grouped on this runner.

    Each task costs Prefect's bookkeeping: ~30 ms in threads (one task per batch added 5 s at 100k
    posts), ~2 s in a process pool on a busy 2-core machine (start-up and a round trip). Threads
    get 20 tasks per worker, which keeps the progress display moving; processes and Dask four per
    worker, which keeps them all busy to the end.
    """
    return (20 if name == "threads" else 4) * (workers or default_workers(name))
