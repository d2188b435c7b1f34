"""The nightly flow: the stages of ``flows.stages.run_stages``, their work as Prefect tasks.

Tasks are thin: each calls one package function. Sources only yield posts; all writes to DuckDB
happen in the flow process. On a runner with processes of its own (processes, Dask), the NLP of
each stored chunk of posts runs there while the flow process stores the next chunk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, replace
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Generic, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner
from prefect.tasks import exponential_backoff

from flows import stages
from flows.config import CollectOptions, Settings, load_settings
from flows.logs import quiet_expected_failures
from flows.progress import stage_progress
from flows.runners import make_runner, one_prefect_api
from flows.stages import (
    StageWork,
    compute_group,
    direct_work,
    run_stages,
    warm_worker,
    worker_evidence,
)
from flows.wiring import live_sources
from flows.workers import default_workers, tasks_for
from nlp.version import BackendOptions, nlp_version
from profiles.evidence import EVIDENCE_SHIPPED
from sources.base import Source, SourceError, SourceResult
from sources.pseudonym import Pseudonymiser
from sources.sample import sample_sources
from warehouse.db import connect
from warehouse.enrich import BATCH, BatchResult, EnrichmentRun, Group

log = logging.getLogger("betrokken")


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
    """Pure computation, so it can run on any runner: ``compute_group`` as a task."""
    return compute_group(group.value, options, profile_model, evidence)


@task(name="start-worker", cache_policy=NO_CACHE)
def start_worker(options: BackendOptions, profile_model: str, evidence: str = EVIDENCE_SHIPPED) -> int:
    """``warm_worker`` as a task: submitted when a run starts, it has a worker process start, import
    Prefect and this module and load the NLP while the flow process collects and stores its first
    chunk, not after that chunk has arrived."""
    return warm_worker(options, profile_model, evidence)


def enrichment_on(
    runner: TaskRunner,
    profile_model: str,
    options: BackendOptions,
    batch_size: int = BATCH,
    tasks: int | None = None,
    evidence: str = EVIDENCE_SHIPPED,
) -> EnrichmentRun:
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

    return EnrichmentRun(
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
    the same ``EnrichmentRun`` after its store); the results are written here, in the flow process,
    task by task in submission order. Posts already enriched under this NLP version
    (same content hash) are not pending, so a retried or repeated run redoes no NLP.

    ``tasks``: into how many tasks to group the batches (None: one task per batch); ``tasks_for``
    picks a number per runner. A task's batches are written in one transaction.
    """
    runner = FlowRunContext.get().task_runner
    enrichment = enrichment_on(runner, profile_model, options, batch_size, tasks, evidence)
    with connect(Path(warehouse)) as con:
        return enrichment.finish(con, partial(stage_progress, "enrich"))


estimate_task = task(name="estimate", cache_policy=NO_CACHE, task_run_name="estimate {municipality_id}")(
    stages.estimate
)
report_task = task(name="report", cache_policy=NO_CACHE)(stages.report)
purge_task = task(name="purge", cache_policy=NO_CACHE)(stages.purge)
publish_task = task(name="publish", cache_policy=NO_CACHE)(stages.publish_copies)


def prefect_work(runner: str, workers: int | None, dask_address: str | None = None) -> StageWork:
    """Each stage's work as Prefect tasks, but for the NLP on the "processes" runner.

    There the NLP goes to the plain process pool of ``direct_work``, not to Prefect's
    ``ProcessPoolTaskRunner``: a Prefect task run costs its worker process ~0.25 s of CPU (it rebuilds
    Prefect's settings and contexts and opens API clients for every task run, and first imports
    Prefect and its installed collections), which at 100,000 posts lengthened the run's longest path,
    the worker's NLP, by ~5 s. Threads and Dask still run ``enrich_batches`` as tasks on the Prefect
    task runner.
    """
    stage_tasks: dict[str, Any] = {
        "collect": collect_all,
        "estimate": estimate_task,
        "report": report_task,
        "purge": purge_task,
        "publish": publish_task,
    }
    if runner == "processes":
        return replace(direct_work(runner, workers or default_workers(runner)), **stage_tasks)
    task_runner = make_runner(runner, workers, dask_address)

    def enrichment(settings: Settings) -> EnrichmentRun:
        options, evidence = settings.nlp.backend_options(), settings.estimation.evidence
        return enrichment_on(
            task_runner, settings.profile_model, options, tasks=tasks_for(runner, workers), evidence=evidence
        )

    return StageWork(
        runner=lambda: task_runner,
        enrichment=enrichment,
        start_worker=lambda settings: task_runner.submit(
            start_worker,
            {
                "options": settings.nlp.backend_options(),
                "profile_model": settings.profile_model,
                "evidence": settings.estimation.evidence,
            },
        ),
        warm=0 if runner == "threads" else workers or default_workers(runner),
        overlap=runner != "threads",
        **stage_tasks,
    )


def sources_for(settings: Settings, mode: str) -> Callable[[Pseudonymiser, list[str]], list[Source]]:
    """The run's sources: the bundled sample corpus, or the configured live sources."""
    if mode == "sample":
        return lambda pseudonymiser, _notes: sample_sources(pseudonymiser)
    return partial(live_sources, settings)


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
    quiet_expected_failures()  # also where no CLI set it up: a run of `serve`
    settings = load_settings(Path(config_path))
    if warehouse_path:
        settings = settings.model_copy(
            update={"warehouse": settings.warehouse.model_copy(update={"path": Path(warehouse_path)})}
        )
    warehouse = settings.warehouse.path
    report = Path(report_path) if report_path else warehouse.parent / "report.html"
    as_of = as_of or datetime.now(UTC).date()
    work = prefect_work(runner, workers, dask_address)
    # a local Dask cluster's workers run Prefect tasks: they talk to this flow's Prefect server
    with one_prefect_api():
        return asdict(run_stages(settings, work, sources_for(settings, mode), mode, report, as_of))
