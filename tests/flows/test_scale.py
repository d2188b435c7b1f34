"""Scheduling and scale-out: the nightly deployment on a real Prefect server, and the enrichment
stage on a process pool and on a real dask.distributed cluster giving the threads runner's rows."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tests import REPO

DROP = ("enrichment", "post_topics", "post_signals")


def test_serve_creates_a_deployment_with_schedule_and_parameters(
    prefect_harness, minimal_config: Path
) -> None:
    from prefect import get_client

    from flows.schedule import nightly_deployment

    deployment_id = nightly_deployment(minimal_config, "30 3 * * 1-5", runner="processes").apply()
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment(deployment_id)
        flow = client.read_flow(deployment.flow_id)
    assert flow.name == "betrokken-nightly" and deployment.name == "nightly"
    (schedule,) = deployment.schedules
    assert schedule.active
    assert schedule.schedule.cron == "30 3 * * 1-5"
    assert schedule.schedule.timezone == "Europe/Amsterdam"
    assert deployment.parameters == {
        "config_path": str(minimal_config.resolve()),
        "mode": "live",
        "runner": "processes",
    }
    limit = deployment.global_concurrency_limit
    assert limit is not None and limit.limit == 1  # and the run lock keeps a manual run out too


@pytest.mark.slow
def test_serve_rejects_a_bad_cron_or_runner(minimal_config: Path) -> None:
    runner = CliRunner()
    bad_cron = runner.invoke(app, ["serve", "-c", str(minimal_config), "--cron", "every night"])
    assert bad_cron.exit_code == 2 and "not a cron expression" in bad_cron.output
    bad_runner = runner.invoke(app, ["serve", "-c", str(minimal_config), "--runner", "ray"])
    assert bad_runner.exit_code == 2 and "expected one of threads, processes, dask" in bad_runner.output


def _unenriched_copy(source: Path, target: Path) -> Path:
    target.mkdir()
    shutil.copy(source, target / "warehouse.duckdb")
    with duckdb.connect(str(target / "warehouse.duckdb")) as con:
        for table in DROP:
            con.execute(f"DELETE FROM {table}")
    return target / "warehouse.duckdb"


def _rows(path: Path) -> list[list[tuple]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return [
            con.execute(
                "SELECT post_id, nlp_version, content_hash, language, sentiment, sentiment_score, trust, "
                "n_tokens FROM enrichment ORDER BY post_id"
            ).fetchall(),
            con.execute("SELECT * FROM post_topics ORDER BY post_id, topic_id").fetchall(),
            con.execute("SELECT * FROM post_signals ORDER BY post_id").fetchall(),
        ]


@pytest.fixture(scope="module")
def threads_rows(demo_run, tmp_path_factory) -> list[list[tuple]]:
    """The reference: the enrichment stage on the threads runner, in small batches."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from flows.nightly import enrich_stage
    from nlp.version import BackendOptions

    out, _, _ = demo_run
    path = _unenriched_copy(out / "warehouse.duckdb", tmp_path_factory.mktemp("threads") / "w")
    done = enrich_stage.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))(
        str(path), "citisens", BackendOptions(), batch_size=40
    )
    assert done > 300
    rows = _rows(path)
    assert rows == _rows(out / "warehouse.duckdb")  # the same as the nightly run wrote
    return rows


def test_enrichment_on_a_process_pool_equals_threads(threads_rows, demo_run, tmp_path: Path) -> None:
    from prefect.task_runners import ProcessPoolTaskRunner

    from flows.nightly import enrich_stage
    from flows.workers import tasks_for
    from nlp.version import BackendOptions

    path = _unenriched_copy(demo_run[0] / "warehouse.duckdb", tmp_path / "p")
    # grouped as the processes runner groups them: a few tasks of several batches each
    done = enrich_stage.with_options(task_runner=ProcessPoolTaskRunner(max_workers=2))(
        str(path), "citisens", BackendOptions(), batch_size=40, tasks=tasks_for("processes", 2)
    )
    assert done == len(threads_rows[0])
    assert _rows(path) == threads_rows


def test_enrichment_on_a_dask_cluster_equals_threads(threads_rows, demo_run, tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    from flows.nightly import enrich_stage
    from flows.runners import make_runner
    from nlp.version import BackendOptions

    path = _unenriched_copy(demo_run[0] / "warehouse.duckdb", tmp_path / "d")  # 3 tasks of ~3 batches
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        runner = make_runner("dask", dask_address=cluster.scheduler_address)
        done = enrich_stage.with_options(task_runner=runner)(
            str(path), "citisens", BackendOptions(), batch_size=40, tasks=3
        )
        worked = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert done == len(threads_rows[0]) and len(worked) == 2
    assert _rows(path) == threads_rows


def test_nightly_on_a_process_pool_equals_threads(
    threads_rows, demo_run, prefect_harness, tmp_path: Path
) -> None:
    """The whole nightly run with a worker process (stored chunks go to it during the store; the
    hand-over itself is tested in test_warehouse) ends with exactly the threads runner's rows."""
    import shutil

    from flows.nightly import nightly
    from sources.sample import demo_config_path, sample_end

    # Bluesky ids are keyed hashes of their AT-URIs: the same rows need the reference run's key
    shutil.copy(demo_run[0] / "betrokken.key", tmp_path / "betrokken.key")
    summary = nightly(
        config_path=str(demo_config_path()),
        mode="sample",
        warehouse_path=str(tmp_path / "warehouse.duckdb"),
        report_path=str(tmp_path / "report.html"),
        as_of=sample_end().date(),
        runner="processes",
        workers=1,
    )
    assert summary["status"] == "ok" and summary["posts_enriched"] == len(threads_rows[0])
    assert _rows(tmp_path / "warehouse.duckdb") == threads_rows


ASK_A_WORKER = """
from prefect import flow, task
from prefect.settings import PREFECT_API_URL

from flows.runners import make_runner, one_prefect_api


@task
def api_url_here():
    return PREFECT_API_URL.value()


@flow
def ask_a_worker():
    runner = make_runner("processes", workers=1)
    with runner:
        return runner.submit(api_url_here, {}).result()


if __name__ == "__main__":
    with one_prefect_api() as url:
        print(url)
        print(ask_a_worker())
"""


@pytest.mark.slow
def test_without_a_configured_server_workers_use_the_flow_process_server(tmp_path: Path) -> None:
    """With no PREFECT_API_URL (`betrokken run` from cron), a process-pool worker talks to the
    local server the flow process started, instead of starting one of its own (~30 s: a fresh
    local server creates its database)."""
    import os
    import subprocess
    import sys

    script = tmp_path / "ask_a_worker.py"
    script.write_text(ASK_A_WORKER, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "PYTHONPATH": str(REPO),
    }
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    flow_url, worker_url = done.stdout.split()[-2:]
    assert flow_url.startswith("http://127.0.0.1:") and worker_url == flow_url


def _gc_threshold() -> tuple[int, int, int]:
    import gc

    return gc.get_threshold()


def test_runs_and_workers_collect_garbage_less_often_and_callers_keep_their_setting() -> None:
    """A run (``fewer_gc_collections``) and every process-pool worker (``setup_worker``) use
    ``GC_THRESHOLDS``; the process that ran the flow gets its own thresholds back, also after an error."""
    import gc
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from flows.workers import GC_THRESHOLDS, fewer_gc_collections, setup_worker

    before = gc.get_threshold()
    assert before != GC_THRESHOLDS
    with pytest.raises(RuntimeError), fewer_gc_collections():
        assert gc.get_threshold() == GC_THRESHOLDS
        raise RuntimeError("a stage failed")
    assert gc.get_threshold() == before
    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=setup_worker, initargs=(os.getpid(),)
    ) as pool:
        assert pool.submit(_gc_threshold).result(timeout=60) == GC_THRESHOLDS


def _loaded() -> tuple[int, int, int]:
    """This worker's pid, and whether it holds an enricher and an evidence model (1) or not (0)."""
    import os

    from flows.stages import worker_evidence
    from nlp.pipeline import get_enricher

    return os.getpid(), get_enricher.cache_info().currsize, worker_evidence.cache_info().currsize


def test_a_started_worker_loads_the_nlp_before_its_first_chunk() -> None:
    """``warm_worker``, submitted as a run starts, leaves the worker with the NLP and the evidence
    model loaded, so the first stored chunk is computed at once."""
    import os
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from flows.stages import warm_worker
    from flows.workers import setup_worker
    from nlp.version import BackendOptions

    with ProcessPoolExecutor(
        1, mp_context=get_context("spawn"), initializer=setup_worker, initargs=(os.getpid(),)
    ) as pool:
        pid, enrichers, models = pool.submit(_loaded).result(timeout=60)
        assert (enrichers, models) == (0, 0)
        assert pool.submit(warm_worker, BackendOptions(), "citisens", "shipped").result(timeout=120) == pid
        assert pool.submit(_loaded).result(timeout=60) == (pid, 1, 1)
