"""Measuring the nightly stages of ``bench/pipeline.py`` in a worker process, one way each.

Each way runs in its own fresh process and warehouse, so memory and imports do not carry over:
(a) ``direct``: ``flows.stages.run_stages`` with plain calls (``direct_work``), no Prefect
    imported; with ``--runner processes`` the NLP runs in a spawned process pool;
(b) ``prefect``: a small @flow defined here that runs the same ``run_stages`` with the nightly
    flow's tasks (``flows.nightly.prefect_work``), because ``nightly`` itself only reads live
    sources or the bundled sample. It runs on the local Prefect server, whose start is timed apart
    and whose address the workers get (``one_prefect_api``), as in ``betrokken run``.
Both run twice on the same warehouse; the second run finds no new posts.
Memory: the RSS high-water mark (``ru_maxrss``) of the measuring process after each stage and its
growth during the stage, and the peak during each stage of the PSS summed over that process and its
workers (sampled every 0.1 s; the Prefect server left out and reported apart); the targets are
checked against the latter. ``--tracemalloc`` adds the peak of Python allocations per stage in
(a), which slows it down. ``--cprofile STAGE [STAGE ...]`` runs (a) once with cProfile around those
stages and prints their hot spots.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from bench.corpus import corpus_sources
from bench.machine import code_line, maxrss_mb


class TreeMemory:
    """The memory of this process and every process it started (enrich workers), sampled every
    0.1 s by a thread: the peak of their summed PSS (resident pages, a page shared by n processes
    counted 1/n, so libraries loaded by every worker are not counted again). ``skip``: pids left
    out (the Prefect server, reported apart)."""

    def __init__(self) -> None:
        import psutil

        self.me = psutil.Process()
        self.skip: set[int] = set()
        self.peak = 0.0
        self.cpu_seen: dict[int, float] = {}  # pid -> its CPU seconds when last sampled (ended ones stay)
        self.own_cpu_s = 0.0  # the sampling thread's CPU so far, left out of the stages' CPU
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def now_mb(self) -> float:
        import psutil

        total = 0
        for process in [self.me, *self.me.children(recursive=True)]:
            try:
                if process.pid != self.me.pid:
                    times = process.cpu_times()
                    self.cpu_seen[process.pid] = times.user + times.system
                if process.pid in self.skip:
                    continue
                total += process.memory_full_info().pss
            except psutil.Error:  # ended between listing and reading
                continue
        return total / 1024**2

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds used so far by the started processes: (workers, skipped ones such as the
        Prefect server), as last sampled."""
        self.now_mb()
        seen = dict(self.cpu_seen)
        skipped = sum(v for pid, v in seen.items() if pid in self.skip)
        return sum(seen.values()) - skipped, skipped

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now_mb())
            self.own_cpu_s = time.thread_time()  # reading every process's page map is not free

    def reset(self) -> None:
        self.peak = self.now_mb()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __reduce__(self) -> tuple[Any, ...]:
        # The bench's flow is a closure inside worker_prefect, so Prefect pickles it by value (and what
        # it refers to, this sampler) into every task it sends to a worker process; there it is not
        # needed.
        return (type(None), ())


@dataclass
class Recorder:
    """Seconds, CPU seconds, item count and memory per stage, in the order the stages ran."""

    trace: bool = False
    tree: TreeMemory | None = None
    stages: dict[str, dict[str, float]] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, float]]:
        import resource
        import tracemalloc

        row: dict[str, float] = {"count": 0}
        if self.trace:
            tracemalloc.reset_peak()
        if self.tree is not None:
            self.tree.reset()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        others = self.tree.cpu_s() if self.tree is not None else (0.0, 0.0)
        sampler = self.tree.own_cpu_s if self.tree is not None else 0.0
        cpu = time.process_time()
        started = time.perf_counter()
        yield row
        row["seconds"] = time.perf_counter() - started
        # CPU time is what a shared, busy machine does not blur: this process's (all its threads but
        # the memory sampler), its workers' and the Prefect server's during the stage
        row["cpu_s"] = time.process_time() - cpu - ((self.tree.own_cpu_s - sampler) if self.tree else 0.0)
        if self.tree is not None:
            workers, server = self.tree.cpu_s()
            row["workers_cpu_s"], row["server_cpu_s"] = workers - others[0], server - others[1]
        row["rss_peak_mb"] = maxrss_mb()
        row["rss_growth_mb"] = row["rss_peak_mb"] - before
        if self.tree is not None:
            row["tree_peak_mb"] = max(self.tree.peak, self.tree.now_mb())
        if self.trace:
            row["py_peak_mb"] = tracemalloc.get_traced_memory()[1] / 1024**2
        self.stages[name] = row


def run_direct(
    config_path: Path,
    as_of: date,
    rec: Recorder,
    profile: frozenset[str] = frozenset(),
    runner: str = "threads",
    workers: int = 1,
) -> None:
    """One nightly run through ``flows.stages.run_stages`` with direct calls (no Prefect imported)."""
    import cProfile
    import pstats

    from flows.config import load_settings
    from flows.stages import direct_work, run_stages

    @contextmanager
    def stage(name: str) -> Iterator[dict[str, float]]:
        with rec.stage(name) as row:
            if name not in profile:
                yield row
                return
            profiler = cProfile.Profile()
            profiler.enable()
            yield row
            profiler.disable()
            stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
            print(f"\n---- cProfile of stage {name}: by own time")
            stats.sort_stats("tottime").print_stats(15)
            print(f"---- cProfile of stage {name}: by cumulative time")
            stats.sort_stats("cumulative").print_stats(25)

    settings = load_settings(config_path)
    report = settings.warehouse.path.parent / "report.html"
    sources = lambda _pseudonymiser, _notes: corpus_sources(config_path.parent)  # noqa: E731
    run_stages(settings, direct_work(runner, workers), sources, "live", report, as_of, stage)


def worker_direct(args: argparse.Namespace) -> dict[str, Any]:
    import tracemalloc

    if args.tracemalloc:
        tracemalloc.start()
    as_of = date.fromisoformat(args.as_of)
    out: dict[str, Any] = {"imports_rss_mb": maxrss_mb(), "code": code_line()}
    tree = TreeMemory()
    runs = []
    for i in range(1 if args.cprofile else 2):  # the second run finds no new posts
        rec = Recorder(trace=args.tracemalloc, tree=tree)
        started = time.perf_counter()
        profile = frozenset(args.cprofile or ()) if i == 0 else frozenset()
        run_direct(Path(args.config), as_of, rec, profile, args.runner, args.workers)
        runs.append({"total": time.perf_counter() - started, "stages": rec.stages})
    tree.stop()
    out["runs"] = runs
    out["peak_rss_mb"] = maxrss_mb()
    out["tree_peak_mb"] = max(row["tree_peak_mb"] for run in runs for row in run["stages"].values())
    return out


def worker_prefect(args: argparse.Namespace) -> dict[str, Any]:
    """The same run as @flow calling the nightly task functions, on the ephemeral Prefect server."""
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
    os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    os.environ["PREFECT_HOME"] = str(
        Path(args.config).parent / "prefect-home"
    )  # own database, not ~/.prefect
    os.environ.pop("PREFECT_API_URL", None)
    started = time.perf_counter()
    from prefect import flow
    from prefect.server.api.server import SubprocessASGIServer

    from flows.config import load_settings
    from flows.nightly import prefect_work
    from flows.runners import one_prefect_api
    from flows.stages import run_stages

    import_s = time.perf_counter() - started
    imports_rss = maxrss_mb()
    started = time.perf_counter()
    server = SubprocessASGIServer()
    server.start(timeout=120)
    server_s = time.perf_counter() - started
    as_of = date.fromisoformat(args.as_of)
    tree = TreeMemory()
    if server.server_process:
        tree.skip.add(server.server_process.pid)  # reported apart

    @flow(name="bench-nightly", log_prints=False)
    def bench_nightly(config_path: str, as_of: date) -> dict[str, Any]:
        """``run_stages`` with the nightly flow's tasks, on the generated corpus instead of live or
        sample sources."""
        rec = Recorder(tree=tree)
        settings = load_settings(Path(config_path))
        report = settings.warehouse.path.parent / "report.html"
        work = prefect_work(args.runner, args.workers)
        sources = lambda _pseudonymiser, _notes: corpus_sources(Path(config_path).parent)  # noqa: E731
        run_stages(settings, work, sources, "live", report, as_of, rec.stage)
        return rec.stages

    runs = []
    with one_prefect_api():  # as `betrokken run`: workers use this server, they start none
        for _ in range(2):  # the second run finds no new posts
            started = time.perf_counter()
            stages = bench_nightly(args.config, as_of)
            runs.append({"total": time.perf_counter() - started, "stages": stages})
    server_hwm = _vm_hwm_mb(server.server_process.pid) if server.server_process else None
    server.stop()
    tree.stop()
    return {
        "tree_peak_mb": max(row["tree_peak_mb"] for run in runs for row in run["stages"].values()),
        "import_s": import_s,
        "imports_rss_mb": imports_rss,
        "server_start_s": server_s,
        "server_peak_rss_mb": server_hwm,
        "runs": runs,
        "peak_rss_mb": maxrss_mb(),
        "code": code_line(),
    }


def _vm_hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
