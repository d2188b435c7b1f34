"""The nightly flow: collect per source, store, enrich, estimate, report.

Tasks are thin: each calls one package function. Sources only yield posts; all writes to DuckDB
happen here, in the flow process. On a runner with processes of its own (processes, Dask), the NLP
of each stored chunk of posts runs there while the flow process stores the next chunk.
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner
from prefect.tasks import exponential_backoff

from flows.config import CollectOptions, Settings, load_settings
from flows.progress import stage_progress
from flows.runners import make_runner, one_prefect_api
from flows.wiring import estimate_settings, gazetteer_for, live_sources
from flows.workers import default_workers, fewer_gc_collections, tasks_for
from nlp.version import BackendOptions, nlp_version
from profiles.evidence import EVIDENCE_SHIPPED, EvidenceModel, evidence_for
from profiles.model import load_model, load_model_for, read_population_shares
from sources.base import Source, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser, load_key
from sources.sample import sample_sources
from warehouse.db import begin_run, connect, finish_run, load_states, record_municipalities
from warehouse.enrich import BATCH, BatchResult, Enrichment, Group, compute_batch
from warehouse.estimates import EstimateSettings, estimate_municipality
from warehouse.lock import RunLock
from warehouse.privacy import purge_text
from warehouse.publish import Published, publish
from warehouse.report import ReportRequest, write_report
from warehouse.store import store_result

log = logging.getLogger("betrokken")


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


@task(name="collect", cache_policy=NO_CACHE, task_run_name="collect {source.key}")
def collect_source(source: Source, state: dict[str, Any], timeout_s: float) -> SourceResult:
    """Collect one source; raises on failure so that Prefect retries it (see ``collect_all``).

    The source runs in its own thread, which the run stops waiting for after ``timeout_s``: a
    source that hangs costs the run that much time and no more (the thread ends on its own HTTP
    timeout; its late result is dropped).
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collect")
    try:
        return pool.submit(source.collect, state).result(timeout=timeout_s)
    except FutureTimeout:
        raise SourceError(f"no answer within {timeout_s:g} s") from None
    finally:
        pool.shutdown(wait=False)


def collect_all(
    sources: list[Source], states: dict[str, dict[str, Any]], options: CollectOptions
) -> list[SourceResult]:
    """Every source at once, each retried with exponential backoff and limited in time; a source
    that still fails comes back as a failed result, so the other sources still land."""
    task = collect_source.with_options(
        retries=options.retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=options.backoff_s) if options.backoff_s else 0,
    )
    started = time.monotonic()
    futures = [task.submit(s, states.get(s.key, {}), options.timeout_s) for s in sources]
    results = []
    for source, future in zip(sources, futures, strict=True):
        outcome = future.result(raise_on_failure=False)
        if isinstance(outcome, SourceResult):
            results.append(outcome)
            continue
        if isinstance(outcome, SourceError):
            reason = str(outcome)
        else:  # an unexpected bug in one source must not stop the others
            reason = f"unexpected {type(outcome).__name__}: {outcome}"
        if options.retries:
            reason += f" (after {options.retries} retries)"
        results.append(SourceResult(source.key, error=reason, duration_s=time.monotonic() - started))
    return results


@lru_cache(maxsize=4)
def worker_evidence(profile_model: str, evidence: str) -> EvidenceModel:
    """One evidence model per worker process, built on first use."""
    return evidence_for(load_model(profile_model), evidence)


T = TypeVar("T")


class Unwalked(Generic[T]):
    """A task parameter that Prefect does not walk.

    Prefect walks every task parameter looking for futures, twice per task: over the enrichment's
    texts that cost 14-16 s at 100,000 posts. It does not walk a plain object, which pickles as it
    is for the process and Dask runners. (``quote()`` hides a parameter too, but prefect-dask
    unwraps it and walks it again.)
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


@task(name="enrich-batches", cache_policy=NO_CACHE)
def enrich_batches(
    group: Unwalked[Group], options: BackendOptions, profile_model: str, evidence: str = EVIDENCE_SHIPPED
) -> list[BatchResult]:
    """Pure computation, so it can run on any runner: texts in, rows out; nothing is written.
    (spaCy is imported here, where the NLP runs, not in a flow process that only writes.)"""
    from nlp.pipeline import get_enricher

    enricher, model = get_enricher(options), worker_evidence(profile_model, evidence)
    return [compute_batch(batch, enricher, model) for batch in group.value]


@task(name="start-worker", cache_policy=NO_CACHE)
def start_worker() -> int:
    """Nothing but being run: submitted when a run starts, it has a worker process start and import
    Prefect and this module (~5 s on two busy cores) while the flow process collects, not after the
    first stored chunk, when the flow process is storing."""
    return os.getpid()


def enrichment_on(
    runner: TaskRunner,
    profile_model: str,
    options: BackendOptions,
    batch_size: int = BATCH,
    tasks: int | None = None,
    evidence: str = EVIDENCE_SHIPPED,
) -> Enrichment:
    """The run's enrichment, computed by ``enrich_batches`` tasks on an open (entered) runner.

    Submit only from a flow's body, not from inside a task: a submission to another process
    carries the current task's context, its parameters included (for the store: a delivery).
    """

    def submit(group: Group) -> PrefectFuture[list[BatchResult]]:
        parameters = {
            "group": Unwalked(group),
            "options": options,
            "profile_model": profile_model,
            "evidence": evidence,
        }
        return runner.submit(enrich_batches, parameters)

    return Enrichment(
        nlp_version(options), worker_evidence(profile_model, evidence), submit, batch_size, tasks
    )


@flow(name="betrokken-enrich", log_prints=False)
def enrich_stage(
    warehouse: str,
    profile_model: str,
    options: BackendOptions,
    batch_size: int = BATCH,
    tasks: int | None = None,
    evidence: str = EVIDENCE_SHIPPED,
) -> int:
    """NLP for every pending post in a warehouse, on this flow's task runner (the nightly flow runs
    the same ``Enrichment`` after its store); the results are written here, in the flow process,
    task by task in submission order. Posts already enriched under this NLP version
    (same content hash) are not pending, so a retried or repeated run redoes no NLP.

    ``tasks``: into how many tasks to group the batches (None: one task per batch); ``tasks_for``
    picks a number per runner. A task's batches are written in one transaction.
    """
    runner = FlowRunContext.get().task_runner
    enrichment = enrichment_on(runner, profile_model, options, batch_size, tasks, evidence)
    with connect(Path(warehouse)) as con:
        return enrichment.finish(con, partial(stage_progress, "enrich"))


@task(name="estimate", cache_policy=NO_CACHE, task_run_name="estimate {municipality_id}")
def estimate_task(
    warehouse: Path,
    municipality_id: str,
    profile_model: str,
    as_of: date,
    settings: EstimateSettings,
    run_id: int,
    version: str,
    population_shares: Path | None = None,
) -> int:
    evidence = evidence_for(load_model_for(profile_model, population_shares), settings.evidence)
    with connect(warehouse) as con:
        return estimate_municipality(con, municipality_id, evidence, version, as_of, settings, run_id)


@task(name="report", cache_policy=NO_CACHE)
def report_task(warehouse: Path, out: Path, settings: EstimateSettings, as_of: date) -> Path:
    with connect(warehouse) as con:
        return write_report(con, out, ReportRequest(as_of=as_of, period_days=settings.period_days), settings)


@task(name="purge", cache_policy=NO_CACHE)
def purge_task(warehouse: Path, retention_days: int) -> int:
    """Raw text past the retention period goes; enrichment and aggregates stay."""
    with connect(warehouse) as con:
        return purge_text(con, retention_days)


@task(name="publish", cache_policy=NO_CACHE)
def publish_task(warehouse: Path) -> Published:
    """The researchers' snapshot and Parquet export, so their reads never touch the live file."""
    with connect(warehouse) as con:
        return publish(con, warehouse)


def municipality_rows(settings: Settings) -> list[tuple[Any, ...]]:
    """What the warehouse keeps of each configured municipality, for reports drawn without config."""
    rows = []
    for m in settings.municipalities:
        shares = None
        if m.population_shares is not None:
            ids = load_model(settings.profile_model).profile_ids
            shares = json.dumps(read_population_shares(m.population_shares, ids))
        rows.append((m.id, m.name, m.cbs_code, settings.profile_model, shares))
    return rows


@flow(name="betrokken-nightly", log_prints=False)
def nightly(
    config_path: str,
    mode: str = "live",
    warehouse_path: str | None = None,
    report_path: str | None = None,
    as_of: date | None = None,
    runner: str = "threads",
    workers: int | None = None,
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Collect, store, enrich, estimate and report, for every configured municipality.

    Args:
        config_path: the TOML configuration.
        mode: "live" (configured sources) or "sample" (the bundled demo corpus).
        warehouse_path: overrides ``[warehouse] path``.
        report_path: where to write report.html (default: beside the warehouse).
        as_of: last day of the estimation period (default: today, UTC).
        runner: where the enrichment computes: "threads" (this process), "processes" or "dask".
        workers: parallel workers of the runner (default: 1 thread, else one per core).
        dask_address: an existing Dask scheduler (tcp://host:8786); without it "dask" starts a
            local cluster.
    """
    settings = load_settings(Path(config_path))
    if warehouse_path:
        settings = settings.model_copy(
            update={"warehouse": settings.warehouse.model_copy(update={"path": Path(warehouse_path)})}
        )
    warehouse = settings.warehouse.path
    report = Path(report_path) if report_path else warehouse.parent / "report.html"
    as_of = as_of or datetime.now(UTC).date()
    task_runner = make_runner(runner, workers, dask_address)
    # a second run exits at once instead of waiting or interleaving; workers share this server
    with RunLock(warehouse), one_prefect_api(), fewer_gc_collections():
        return _run(
            settings,
            mode,
            warehouse,
            report,
            as_of,
            task_runner,
            tasks_for(runner, workers),
            overlap=runner != "threads",
            warm=0 if runner == "threads" else workers or default_workers(runner),
        )


def _run(
    settings: Settings,
    mode: str,
    warehouse: Path,
    report: Path,
    as_of: date,
    task_runner: TaskRunner,
    enrich_tasks: int | None = None,
    overlap: bool = False,
    warm: int = 0,
) -> dict[str, Any]:
    """The stages in order. ``overlap``: hand each stored chunk to the runner at once; ``warm``:
    how many workers of the runner to start (``start_worker``) before collecting."""
    pseudonymiser = Pseudonymiser(load_key(settings.key_file()))
    timings: dict[str, float] = {}

    options = settings.nlp.backend_options()
    with connect(warehouse) as con:
        run_id = begin_run(con, mode, as_of, nlp_version(options))
        record_municipalities(con, municipality_rows(settings))
        states = load_states(con)
    summary = RunSummary(run_id, "running", str(warehouse), None)
    try:
        # The store runs here, in the flow process, and not as a task: it hands stored posts to the
        # enrichment's runner, which must not be done from inside a task (see ``enrichment_on``).
        with task_runner:
            starting = [task_runner.submit(start_worker, {}) for _ in range(warm)]
            started = time.monotonic()
            sources = (
                sample_sources(pseudonymiser)
                if mode == "sample"
                else live_sources(settings, pseudonymiser, summary.notes)
            )
            results = collect_all(sources, states, settings.collect)
            timings["collect"] = time.monotonic() - started

            enrichment = enrichment_on(
                task_runner,
                settings.profile_model,
                options,
                tasks=enrich_tasks,
                evidence=settings.estimation.evidence,
            )
            started = time.monotonic()
            gazetteer = gazetteer_for(settings)
            with connect(warehouse) as con:
                hook = enrichment.take if overlap else None
                counts = []
                while results:  # a delivery is let go once stored: the largest one meets less held
                    counts.append(store_result(con, results.pop(0), gazetteer, run_id, hook))
            summary.sources = [asdict(c) for c in counts]
            summary.posts_new = sum(c.new for c in counts)
            timings["store"] = time.monotonic() - started

            started = time.monotonic()
            with connect(warehouse) as con:
                summary.posts_enriched = enrichment.finish(con, partial(stage_progress, "enrich"))
            timings["enrich"] = time.monotonic() - started
            for future in starting:
                future.result()  # long done; a worker that could not start fails the run here

        started = time.monotonic()
        est = estimate_settings(settings.estimation)
        summary.estimates = sum(
            estimate_task(
                warehouse,
                m.id,
                settings.profile_model,
                as_of,
                est,
                run_id,
                nlp_version(options),
                m.population_shares,
            )
            for m in settings.municipalities
        )
        timings["estimate"] = time.monotonic() - started

        started = time.monotonic()
        summary.report = str(report_task(warehouse, report, est, as_of))
        timings["report"] = time.monotonic() - started

        started = time.monotonic()
        summary.text_purged = purge_task(warehouse, settings.retention_days)
        timings["purge"] = time.monotonic() - started

        summary.status = "partial" if any(c.status == "failed" for c in counts) else "ok"
    except Exception as exc:
        summary.status = "failed"
        with connect(warehouse) as con:
            finish_run(con, run_id, "failed", asdict(summary), error=f"{type(exc).__name__}: {exc}")
        raise
    with connect(warehouse) as con:
        finish_run(con, run_id, summary.status, asdict(summary))
    # after the run is recorded as finished, so the researchers' copies show it finished too
    started = time.monotonic()
    try:
        published = publish_task(warehouse)
    except Exception as exc:
        with connect(warehouse) as con:
            finish_run(con, run_id, "failed", asdict(summary), error=f"publish: {type(exc).__name__}: {exc}")
        raise
    summary.snapshot, summary.export = str(published.snapshot), str(published.export)
    timings["publish"] = time.monotonic() - started
    summary.stage_seconds = timings
    return asdict(summary)
