"""The nightly run's stages in their one order, free of Prefect.

``run_stages`` is the only place that says what runs after what. ``flows/nightly.py`` gives it
``StageWork`` whose calls are Prefect tasks on a task runner; ``direct_work`` gives it plain
calls, with the NLP in this process or in a pool of spawned processes, which the bench measures
against the flow (bench/pipeline.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache, partial
from multiprocessing import get_context
from pathlib import Path
from threading import Thread
from typing import Any, Protocol

from flows.config import CollectOptions, Settings
from flows.progress import stage_progress
from flows.wiring import estimate_settings, gazetteer_for, municipality_rows
from flows.workers import fewer_gc_collections, setup_worker, tasks_for
from nlp.version import BackendOptions, nlp_version
from profiles.evidence import EvidenceModel, evidence_for
from profiles.model import load_model, load_model_for
from sources.base import Source, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser, load_key
from warehouse.db import begin_run, connect, finish_run, load_states, record_municipalities
from warehouse.enrich import BatchResult, Deferred, EnrichmentRun, Group, compute_batch
from warehouse.estimates import EstimateSettings, estimate_municipality
from warehouse.lock import RunLock
from warehouse.privacy import purge_text
from warehouse.publish import Published, publish
from warehouse.report import ReportRequest, write_report
from warehouse.report.charts import start_renderer
from warehouse.store import store_result

STAGES = ("setup", "collect", "store", "enrich", "estimate", "report", "purge", "finish", "publish")


@dataclass
class RunSummary:
    """What one run did; printed by the CLI and returned by the flow."""

    run_id: int
    status: str
    warehouse: str
    report: str | None
    snapshot: str | None = None
    export: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    posts_new: int = 0
    posts_enriched: int = 0
    estimates: int = 0
    text_purged: int = 0
    notes: list[str] = field(default_factory=list)
    stage_seconds: dict[str, float] = field(default_factory=dict)


# ---- Each stage's work as a plain function; the flow wraps these in Prefect tasks. ----


@lru_cache(maxsize=4)
def worker_evidence(profile_model: str, evidence: str) -> EvidenceModel:
    """One evidence model per worker process, built on first use."""
    return evidence_for(load_model(profile_model), evidence)


def warm_worker(options: BackendOptions, profile_model: str, evidence: str) -> int:
    """Load the NLP and the evidence model in a worker while the flow process collects and stores its
    first chunk, not once that chunk has arrived (the worker's path is the run's longest); returns
    the worker's pid."""
    from nlp.pipeline import get_enricher

    get_enricher(options)
    worker_evidence(profile_model, evidence)
    return os.getpid()


def compute_group(
    group: Group, options: BackendOptions, profile_model: str, evidence: str
) -> list[BatchResult]:
    """A group of batches' NLP, on any worker: texts in, rows out; nothing is written. (spaCy is
    imported here, where the NLP runs, not in a flow process that only writes.)"""
    from nlp.pipeline import get_enricher

    enricher, model = get_enricher(options), worker_evidence(profile_model, evidence)
    return [compute_batch(batch, enricher, model) for batch in group]


def estimate(
    warehouse: Path,
    municipality_id: str,
    profile_model: str,
    as_of: date,
    settings: EstimateSettings,
    run_id: int,
    version: str,
    population_shares: Path | None = None,
) -> int:
    """One municipality's shares for the period ending ``as_of``, written to the warehouse."""
    evidence = evidence_for(load_model_for(profile_model, population_shares), settings.evidence)
    with connect(warehouse) as con:
        return estimate_municipality(con, municipality_id, evidence, version, as_of, settings, run_id)


def report(warehouse: Path, out: Path, settings: EstimateSettings, as_of: date) -> Path:
    with connect(warehouse) as con:
        return write_report(con, out, ReportRequest(as_of=as_of, period_days=settings.period_days), settings)


def purge(warehouse: Path, retention_days: int) -> int:
    """Raw text past the retention period goes; enrichment and aggregates stay."""
    with connect(warehouse) as con:
        return purge_text(con, retention_days)


def publish_copies(warehouse: Path) -> Published:
    """The researchers' snapshot and Parquet export, so their reads never touch the live file."""
    with connect(warehouse) as con:
        return publish(con, warehouse)


def collect_each(
    sources: list[Source], states: dict[str, dict[str, Any]], _: CollectOptions
) -> list[SourceResult]:
    """Every source in turn, without retries or a time limit (the flow adds both)."""
    results = []
    for source in sources:
        started = time.monotonic()
        try:
            results.append(source.collect(states.get(source.key, {})))
        except SourceError as exc:
            results.append(SourceResult(source.key, error=str(exc), duration_s=time.monotonic() - started))
    return results


class Submitted(Protocol):
    """A future of any runner: a Prefect or a concurrent one."""

    def result(self) -> Any: ...


@dataclass
class StageWork:
    """How the stages' work is done. ``runner``: entered from collect to enrich, where the NLP
    computes; ``enrichment``: the run's enrichment on it; ``start_worker``: submits
    ``warm_worker``, which makes a worker start and load the NLP while the sources are collected,
    ``warm`` times;
    ``overlap``: hand each stored chunk to the runner at once, not after the store."""

    runner: Callable[[], AbstractContextManager[Any]]
    enrichment: Callable[[Settings], EnrichmentRun]
    collect: Callable[[list[Source], dict[str, dict[str, Any]], CollectOptions], list[SourceResult]] = (
        collect_each
    )
    estimate: Callable[..., int] = estimate
    report: Callable[[Path, Path, EstimateSettings, date], Path] = report
    purge: Callable[[Path, int], int] = purge
    publish: Callable[[Path], Published] = publish_copies
    start_worker: Callable[[Settings], Submitted] | None = None
    warm: int = 0
    overlap: bool = False


def direct_work(runner: str = "threads", workers: int = 1) -> StageWork:
    """Plain calls. "threads": the NLP in this process, a batch group at a time while the
    enrichment is written; "processes": in a pool of spawned processes, started while collecting
    and fed each stored chunk at once (the nightly flow's "processes" runner uses this pool too)."""
    if runner == "threads":

        def on_this_process(settings: Settings) -> EnrichmentRun:
            from nlp.pipeline import get_enricher

            options = settings.nlp.backend_options()
            evidence = worker_evidence(settings.profile_model, settings.estimation.evidence)
            return EnrichmentRun(
                nlp_version(options), evidence, lambda group: Deferred(group, get_enricher(options), evidence)
            )

        return StageWork(runner=nullcontext, enrichment=on_this_process)
    if runner != "processes":
        raise ValueError(f"direct runs use threads or processes, not {runner!r}")
    pools: list[ProcessPoolExecutor] = []

    @contextmanager
    def pool() -> Iterator[ProcessPoolExecutor]:
        context = get_context("spawn")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=setup_worker, initargs=(os.getpid(),)
        ) as p:
            pools.append(p)
            try:
                yield p
            finally:
                pools.remove(p)

    def on_the_pool(settings: Settings) -> EnrichmentRun:
        options, evidence = settings.nlp.backend_options(), settings.estimation.evidence

        def submit(group: Group) -> Future[list[BatchResult]]:
            return pools[-1].submit(compute_group, group, options, settings.profile_model, evidence)

        model = worker_evidence(settings.profile_model, evidence)
        return EnrichmentRun(nlp_version(options), model, submit, tasks=tasks_for("processes", workers))

    return StageWork(
        runner=pool,
        enrichment=on_the_pool,
        start_worker=lambda settings: pools[-1].submit(
            warm_worker,
            settings.nlp.backend_options(),
            settings.profile_model,
            settings.estimation.evidence,
        ),
        warm=workers,
        overlap=True,
    )


Recorder = Callable[[str], AbstractContextManager[dict[str, float]]]


def run_stages(
    settings: Settings,
    work: StageWork,
    sources: Callable[[Pseudonymiser, list[str]], list[Source]],
    mode: str,
    report_path: Path,
    as_of: date,
    stage: Recorder | None = None,
) -> RunSummary:
    """Setup, collect, store, enrich, estimate, report, purge, finish and publish, in that order.

    ``sources(pseudonymiser, notes)`` makes the run's sources (and may add a note, such as a
    source skipped for want of credentials); ``stage(name)`` times a stage and yields a row for its
    counts (default: the seconds go to the summary's ``stage_seconds``). A second run on the same
    warehouse exits at once (``RunLock``) instead of waiting or interleaving.
    """
    warehouse = settings.warehouse.path
    timings: dict[str, float] = {}
    stage = stage or partial(_timed, timings)
    options = settings.nlp.backend_options()
    version = nlp_version(options)
    with RunLock(warehouse), fewer_gc_collections():
        with stage("setup"):
            # before the run is recorded: a bad key fails it at once, leaving no run "running"
            pseudonymiser = Pseudonymiser(load_key(settings.key_file()))
            with connect(warehouse) as con:
                run_id = begin_run(con, mode, as_of, version)
                record_municipalities(con, municipality_rows(settings))
                states = load_states(con)
        summary = RunSummary(run_id, "running", str(warehouse), None)
        try:
            _collect_store_enrich(settings, work, sources, pseudonymiser, states, run_id, summary, stage)
            est = estimate_settings(settings.estimation)
            with stage("estimate") as row:
                summary.estimates = row["count"] = sum(
                    work.estimate(
                        warehouse,
                        m.id,
                        settings.profile_model,
                        as_of,
                        est,
                        run_id,
                        version,
                        m.population_shares,
                    )
                    for m in settings.municipalities
                )
            with stage("report"):
                summary.report = str(work.report(warehouse, report_path, est, as_of))
            with stage("purge") as row:
                summary.text_purged = row["count"] = work.purge(warehouse, settings.retention_days)
            failed = any(s["status"] == "failed" for s in summary.sources)
            summary.status = "partial" if failed else "ok"
        except Exception as exc:
            summary.status = "failed"
            with connect(warehouse) as con:
                finish_run(con, run_id, "failed", asdict(summary), error=f"{type(exc).__name__}: {exc}")
            raise
        with stage("finish"), connect(warehouse) as con:
            finish_run(con, run_id, summary.status, asdict(summary))
        # after the run is recorded as finished, so the researchers' copies show it finished too
        with stage("publish"):
            try:
                published = work.publish(warehouse)
            except Exception as exc:
                with connect(warehouse) as con:
                    error = f"publish: {type(exc).__name__}: {exc}"
                    finish_run(con, run_id, "failed", asdict(summary), error=error)
                raise
        summary.snapshot, summary.export = str(published.snapshot), str(published.export)
    summary.stage_seconds = timings
    return summary


def _collect_store_enrich(
    settings: Settings,
    work: StageWork,
    sources: Callable[[Pseudonymiser, list[str]], list[Source]],
    pseudonymiser: Pseudonymiser,
    states: dict[str, dict[str, Any]],
    run_id: int,
    summary: RunSummary,
    stage: Recorder,
) -> None:
    """The stages that share the runner. The store runs in this process and not as a task: it
    hands stored posts to the runner, which must not be done from inside a task (a submission to
    another process carries the current task's context, its parameters included)."""
    warehouse = settings.warehouse.path
    with work.runner():
        starting = [work.start_worker(settings) for _ in range(work.warm)] if work.start_worker else []
        with stage("collect") as row:
            results = work.collect(sources(pseudonymiser, summary.notes), states, settings.collect)
            row["count"] = sum(len(r.posts) for r in results)
        enrichment = work.enrichment(settings)
        with stage("store") as row:
            gazetteer = gazetteer_for(settings)
            with connect(warehouse) as con:
                hook = enrichment.take if work.overlap else None
                counts = []
                while results:  # a delivery is let go once stored: the largest one meets less held
                    counts.append(store_result(con, results.pop(0), gazetteer, run_id, hook))
            summary.sources = [asdict(c) for c in counts]
            summary.posts_new = row["count"] = sum(c.new for c in counts)
            row["duplicates"] = sum(c.duplicate for c in counts)
        # While this process waits for the workers' last results, the report's chart renderer starts
        # (otherwise the report stage, after them, would start it)
        warming = Thread(target=start_renderer, name="start-renderer", daemon=True) if work.overlap else None
        if warming is not None:
            warming.start()
        with stage("enrich") as row, connect(warehouse) as con:
            summary.posts_enriched = row["count"] = enrichment.finish(con, partial(stage_progress, "enrich"))
        for future in starting:
            future.result()  # long done; a worker that could not start fails the run here
    if warming is not None:
        warming.join()


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[dict[str, float]]:
    started = time.monotonic()
    yield {"count": 0}
    timings[name] = time.monotonic() - started
