"""Pipeline throughput: N generated posts through store, enrich, estimate, report, purge and publish,
once by calling the stage functions directly and once through Prefect, with the time, posts/s and
peak memory of every stage, the share of wall time Prefect itself takes, and a rerun with no new
posts (which must do no NLP).

The posts (``bench/corpus.py``) are made once, in this process: Reddit threads and a few news
articles for two municipalities over the last 89 days, generated texts with words of a Dutch lemma
table mixed in unless ``--plain`` is given (else most would be near-duplicates). The duplicate
figures are printed.

Each way runs in its own fresh process and warehouse (``bench/measure.py``, which describes both
ways and the memory figures): (a) ``direct``, the stage functions with plain calls, no Prefect
imported; (b) ``prefect``, the same stages with the nightly flow's tasks on the local Prefect server.
``--tracemalloc`` adds the peak of Python allocations per stage in (a), which slows it down.
``--cprofile STAGE [STAGE ...]`` runs (a) once more with cProfile around those stages and prints
their hot spots (``--repeat 0`` skips the measured runs).

Usage:
    python bench/pipeline.py --posts 10000 [--repeat 1] [--plain] [--tracemalloc] [--cprofile enrich]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import make_corpus, write_corpus, write_workdir
from bench.machine import code_line, machine_line
from bench.measure import worker_direct, worker_prefect
from flows.stages import STAGES

# ---- The parent: generate, run both ways, print. ----


def spawn(
    way: str, config: Path, as_of: date, args: argparse.Namespace, cprofile: list[str] | None = None
) -> Any:
    result = config.parent / f"result-{way}.json"
    command = [
        sys.executable,
        __file__,
        "--worker",
        way,
        "--config",
        str(config),
        "--as-of",
        as_of.isoformat(),
    ]
    command += ["--result", str(result), "--posts", str(args.posts)]
    command += ["--runner", args.runner, "--workers", str(args.workers)]
    if args.tracemalloc and way == "direct":
        command.append("--tracemalloc")
    if cprofile:
        command += ["--cprofile", *cprofile]
    subprocess.run(command, check=True)
    return json.loads(result.read_text(encoding="utf-8"))


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def print_tables(n: int, direct: list[dict[str, Any]], prefect: list[dict[str, Any]], which: int) -> None:
    """Per stage: (a) seconds, CPU seconds of this process and of its workers, posts/s, items, peak
    and growth of RSS, peak of all processes; (b) seconds, the difference, CPU seconds (this
    process, workers, the Prefect server), RSS and the peak of all processes."""
    trace = any("py_peak_mb" in r["runs"][which]["stages"]["store"] for r in direct)
    header = (
        f"{'stage':<9} {'(a) s':>8} {'cpu':>6} {'wk cpu':>6} {'posts/s':>9} {'items':>8} {'RSS MiB':>8} "
        f"{'+RSS':>7} {'all MiB':>8} "
        + (f"{'py peak':>8} " if trace else "")
        + f"{'(b) s':>8} {'(b)-(a)':>8} {'cpu':>6} {'wk cpu':>6} {'srv':>5} {'(b) RSS':>8} {'(b) all':>8}"
    )
    print(header)

    def value(results: list[dict[str, Any]], stage: str, key: str) -> float | None:
        return _median([r["runs"][which]["stages"].get(stage, {}).get(key) for r in results])

    for stage in STAGES:
        a = value(direct, stage, "seconds") or 0.0
        b = value(prefect, stage, "seconds")
        items = value(direct, stage, "count")
        line = (
            f"{stage:<9} {a:>8.2f} {value(direct, stage, 'cpu_s') or 0:>6.1f} "
            f"{value(direct, stage, 'workers_cpu_s') or 0:>6.1f} "
            f"{n / a if a else 0:>9,.0f} {items or 0:>8,.0f} "
            f"{value(direct, stage, 'rss_peak_mb') or 0:>8,.0f} "
            f"{value(direct, stage, 'rss_growth_mb') or 0:>7,.0f} "
            f"{value(direct, stage, 'tree_peak_mb') or 0:>8,.0f} "
        )
        if trace:
            line += f"{value(direct, stage, 'py_peak_mb') or 0:>8,.0f} "
        if b is not None:
            line += (
                f"{b:>8.2f} {b - a:>8.2f} {value(prefect, stage, 'cpu_s') or 0:>6.1f} "
                f"{value(prefect, stage, 'workers_cpu_s') or 0:>6.1f} "
                f"{value(prefect, stage, 'server_cpu_s') or 0:>5.1f} "
                f"{value(prefect, stage, 'rss_peak_mb') or 0:>8,.0f} "
                f"{value(prefect, stage, 'tree_peak_mb') or 0:>8,.0f}"
            )
        print(line)
    a_total = _median([r["runs"][which]["total"] for r in direct]) or 0.0
    b_total = _median([r["runs"][which]["total"] for r in prefect])
    line = f"{'total':<9} {a_total:>8.2f} {'':>13} {n / a_total:>9,.0f} {'':>8} {'':>8} {'':>7} {'':>8} " + (
        " " * 9 if trace else ""
    )
    if b_total is not None:
        line += f"{b_total:>8.2f} {b_total - a_total:>8.2f}"
    print(line)
    if b_total:
        print(
            f"Prefect's share of wall time (server start excluded): ({b_total:.2f} - {a_total:.2f}) / "
            f"{b_total:.2f} = {(b_total - a_total) / b_total:.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each way, alternating; medians")
    parser.add_argument(
        "--plain", action="store_true", help="generated texts as they are (mostly near-duplicates)"
    )
    parser.add_argument("--tracemalloc", action="store_true", help="peak Python allocations per stage in (a)")
    parser.add_argument(
        "--cprofile", nargs="+", choices=STAGES, help="profile these stages in an extra run of (a)"
    )
    parser.add_argument("--no-prefect", action="store_true", help="only way (a)")
    parser.add_argument(
        "--runner",
        choices=("threads", "processes"),
        default="threads",
        help="where the enrich stage runs its NLP, as `betrokken run --runner` (default: threads)",
    )
    parser.add_argument("--workers", type=int, default=1, help="enrich workers (default 1)")
    parser.add_argument("--keep", type=Path, help="keep the work folders here")
    parser.add_argument("--worker", choices=("direct", "prefect"), help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--as-of", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out = worker_direct(args) if args.worker == "direct" else worker_prefect(args)
        Path(args.result).write_text(json.dumps(out), encoding="utf-8")
        return

    print(machine_line())
    print(code_line())
    base = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="betrokken-bench-pipeline-"))
    base.mkdir(parents=True, exist_ok=True)
    try:
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.perf_counter()
        corpus = make_corpus(args.posts, seed=42, plain=args.plain, now=now)
        corpus_dir = base / "corpus"
        write_corpus(corpus, corpus_dir)
        kinds: dict[str, int] = {}
        for posts in corpus.values():
            for p in posts:
                kinds[p.kind] = kinds.get(p.kind, 0) + 1
        authors = len({p.author_key for posts in corpus.values() for p in posts if p.author_key})
        print(
            f"corpus: {args.posts:,} posts in {len(corpus)} sources "
            f"({', '.join(f'{v:,} {k}s' for k, v in kinds.items())}; {authors:,} authors), "
            f"{'plain generated texts' if args.plain else 'generated texts with mixed-in words'}; "
            f"made in {time.perf_counter() - started:.1f} s (not part of any stage)"
        )
        as_of = now.date()
        if args.repeat == 0 and args.cprofile:
            spawn("direct", write_workdir(base / "profile", corpus_dir), as_of, args, cprofile=args.cprofile)
            return
        direct: list[dict[str, Any]] = []
        prefect: list[dict[str, Any]] = []
        for r in range(args.repeat):  # alternate, so that load on the shared machine hits both alike
            direct.append(spawn("direct", write_workdir(base / f"direct-{r}", corpus_dir), as_of, args))
            if not args.no_prefect:
                prefect.append(
                    spawn("prefect", write_workdir(base / f"prefect-{r}", corpus_dir), as_of, args)
                )
        codes = {r["code"] for r in direct + prefect}
        if len(codes) > 1:
            print("WARNING: the code changed between the runs; the figures compare different code:")
            for code in sorted(codes):
                print(f"  {code}")
        store = direct[0]["runs"][0]["stages"]["store"]
        print(
            f"stored {store['count']:,.0f} new posts, {store.get('duplicates', 0):,.0f} of them linked as "
            f"duplicates "
            f"(exact or near); enriched {direct[0]['runs'][0]['stages']['enrich']['count']:,.0f}"
        )
        print(
            f"\nrun 1 on a fresh warehouse, {args.posts:,} posts; (a) stage functions, (b) through Prefect; "
            f"medians of {args.repeat}; RSS = this process's high-water mark after the stage, +RSS = its "
            f"growth in the stage, all = peak during the stage of the PSS summed over this process and its "
            f"workers (sampled every 0.1 s; the Prefect server apart)"
        )
        print_tables(args.posts, direct, prefect, 0)
        print(
            f"enrich ran its NLP on the {args.runner} runner with {args.workers} worker(s)"
            + (
                ", each stored chunk's posts handed to the workers while the next was stored"
                if args.runner == "processes"
                else " in the process, after the store"
            )
        )
        print(
            f"\nrun 2 on the same warehouse, the same posts again (nothing new); "
            f"posts/s still per {args.posts:,}"
        )
        print_tables(args.posts, direct, prefect, 1)
        enriched = [r["runs"][1]["stages"]["enrich"]["count"] for r in direct + prefect]
        seconds = [r["runs"][1]["stages"]["enrich"]["seconds"] for r in direct + prefect]
        print(
            f"rerun enrich: {max(enriched):.0f} posts enriched (must be 0), "
            f"{statistics.median(seconds):.2f} s; "
            + ("OK" if max(enriched) == 0 else "FAILED: the rerun did NLP")
        )
        peak_a = _median([r["peak_rss_mb"] for r in direct])
        all_a = _median([r["tree_peak_mb"] for r in direct]) or 0.0
        print(
            f"\n(a) process: peak RSS {peak_a:,.0f} MiB "
            f"(after imports {_median([r['imports_rss_mb'] for r in direct]):,.0f} MiB); "
            f"with its workers, peak PSS {all_a:,.0f} MiB"
        )
        if prefect:
            print(
                f"(b) process: peak RSS {_median([r['peak_rss_mb'] for r in prefect]):,.0f} MiB, "
                f"with its workers peak PSS {_median([r['tree_peak_mb'] for r in prefect]) or 0:,.0f} MiB "
                f"(after imports "
                f"{_median([r['imports_rss_mb'] for r in prefect]):,.0f} MiB, Prefect import "
                f"{_median([r['import_s'] for r in prefect]):.1f} s); Prefect server: start "
                f"{_median([r['server_start_s'] for r in prefect]):.1f} s (fresh database), peak RSS "
                f"{_median([r['server_peak_rss_mb'] for r in prefect]) or 0:,.0f} MiB"
            )
        for way, results in (("(a) direct", direct), ("(b) Prefect", prefect)):
            if not results:
                continue
            total = statistics.median(r["runs"][0]["total"] for r in results)
            peak = _median([r["tree_peak_mb"] for r in results]) or 0.0
            print(
                f"target, {way}: {args.posts:,} posts in {total:.1f} s of work "
                f"({'within' if total < 60 * args.posts / 100_000 else 'over'} "
                f"the 60 s per 100k posts target, pro rata), peak {peak:,.0f} MiB with workers "
                f"({'within' if peak < 1536 else 'over'} the 1,536 MiB target)"
            )
        if args.cprofile:
            spawn("direct", write_workdir(base / "profile", corpus_dir), as_of, args, cprofile=args.cprofile)
        print(machine_line().replace("machine:", "machine at the end:"))
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
