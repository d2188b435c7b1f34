"""Pipeline throughput: N generated posts through store, enrich, estimate, report, purge and publish,
once by calling the stage functions directly and once through Prefect, with the time, posts/s and
peak memory of every stage, the share of wall time Prefect itself takes, and a rerun with no new
posts (which must do no NLP).

The posts are made once, in this process, and saved as one pickle per source: Reddit threads
(submissions and comments, pseudonymous authors with a long tail) and a few news articles for two
municipalities (Utrecht, Overbetuwe) over the last 89 days. Texts come from ``bench/generate.py``,
with a place name or the municipality in most submissions and articles and in a third of the
comments (the others inherit their thread's municipality, as the relevance filter allows).
Generated texts reuse a small set of phrases, so most of them would be near-duplicates of each
other (MinHash over word 3-shingles), be linked to a first copy and never enriched; unless
``--plain`` is given, words from the Dutch lemma table of spacy-lookups-data (Zipf-weighted) are
mixed in after about every third word, so that near-duplicates are as rare as in real posts and the
vocabulary is as open as real text. The duplicate figures are printed.

Each way runs in its own fresh process and warehouse, so memory and imports do not carry over:
(a) ``direct``: ``flows.stages.run_stages`` with plain calls (``direct_work``), no Prefect
    imported; with ``--runner processes`` the NLP runs in a spawned process pool;
(b) ``prefect``: a small @flow defined here that runs the same ``run_stages`` with the nightly
    flow's tasks (``flows.nightly.prefect_work``), because ``nightly`` itself only reads live
    sources or the bundled sample. It runs on the local Prefect server, whose start is timed apart
    and whose address the workers get (``one_prefect_api``), as in ``betrokken run``.
Memory: the RSS high-water mark (``ru_maxrss``) of the measuring process after each stage and its
growth during the stage, and the peak during each stage of the PSS summed over that process and its
workers (sampled every 0.1 s; the Prefect server left out and reported apart); the targets are
checked against the latter. ``--tracemalloc`` adds the peak of Python allocations per stage in
(a), which slows it down.
``--cprofile STAGE [STAGE ...]`` runs (a) once more with cProfile around those stages and prints
their hot spots (``--repeat 0`` skips the measured runs).

Usage:
    python bench/pipeline.py --posts 10000 [--repeat 1] [--plain] [--tracemalloc] [--cprofile enrich]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.warehouse_queries import code_line, machine_line, maxrss_mb  # noqa: E402
from flows.stages import STAGES  # noqa: E402

KEY = b"bench-key-of-32-bytes-for-hmac!!"

MUNICIPALITIES: dict[str, dict[str, Any]] = {
    "utrecht": {
        "name": "Utrecht",
        "cbs": "GM0344",
        "share": 0.7,
        "subreddit": "utrecht",
        "feed": "Domstad Nieuws",
        "aliases": ["gemeente Utrecht", "Domstad"],
        "places": [
            "Lombok",
            "Kanaleneiland",
            "Overvecht",
            "Leidsche Rijn",
            "Zuilen",
            "Hoograven",
            "Lunetten",
        ],
    },
    "overbetuwe": {
        "name": "Overbetuwe",
        "cbs": "GM1734",
        "share": 0.3,
        "subreddit": "Betuwe",
        "feed": "Betuwe Bode",
        "aliases": ["gemeente Overbetuwe"],
        "places": ["Elst", "Zetten", "Heteren", "Driel", "Randwijk", "Valburg", "Oosterhout"],
    },
}
CONFIG = """# Written by bench/pipeline.py: the two municipalities of the sample, with one feed each.
profile_model = "citisens"
retention_days = 90

[warehouse]
path = "warehouse.duckdb"

[estimation]
method = "bayes"
period_days = 90
n_boot = 1000
level = 0.9
min_cell_size = 10
"""
MENTIONS = (
    "{place}: {text}",
    "{text} Dit speelt in {place}.",
    "Hier in {place}. {text}",
    "{text} (gemeente {name})",
)


# ---- The corpus. ----


def _vocabulary(rng: random.Random) -> tuple[list[str], list[float]]:
    """Dutch word forms with Zipf weights (rank assigned at random), for mixing into generated texts."""
    import spacy_lookups_data
    import srsly

    table = Path(spacy_lookups_data.__file__).parent / "data" / "nl_lemma_lookup.json.gz"
    words = sorted(
        w for w in srsly.read_gzip_json(table) if w.isalpha() and w.islower() and 3 <= len(w) <= 14
    )
    rng.shuffle(words)
    weights = [1.0 / (rank + 10) for rank in range(len(words))]
    return words, list(itertools.accumulate(weights))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out.rjust(7, "0")


def make_corpus(n: int, seed: int, plain: bool, now: datetime) -> dict[str, list[Any]]:
    """``n`` posts as {source key: [Post]}: Reddit threads and about 3% news articles."""
    from bench.generate import generate
    from sources.base import Post
    from sources.pseudonym import Pseudonymiser

    rng = random.Random(seed)
    pseudonymiser = Pseudonymiser(KEY)
    texts = generate(n * 2, seed=seed)
    words, cumulative = ([], []) if plain else _vocabulary(rng)

    def text() -> str:
        base = next(texts)
        if plain:
            return base
        out = []
        for word in base.split():
            out.append(word)
            if rng.random() < 0.33:
                out.append(rng.choices(words, cum_weights=cumulative)[0])
        return " ".join(out)

    def mention(body: str, m: dict[str, Any]) -> str:
        place = rng.choice([m["name"], *m["aliases"], *m["places"], *m["places"]])
        return rng.choice(MENTIONS).format(place=place, text=body, name=m["name"])

    authors = {mid: max(20, round(n * m["share"] / 5)) for mid, m in MUNICIPALITIES.items()}
    author_keys: dict[tuple[str, int], str | None] = {}

    def author(mid: str) -> str | None:
        k = int(authors[mid] * rng.random() ** 2.5)
        if (mid, k) not in author_keys:
            author_keys[(mid, k)] = pseudonymiser.author_key(f"{mid}_bewoner_{k}")
        return author_keys[(mid, k)]

    corpus: dict[str, list[Any]] = {}
    ids = iter(range(10**6, 10**9, 7919))
    n_articles = max(2, round(n * 0.03))
    for i in range(n_articles):
        mid = "utrecht" if rng.random() < MUNICIPALITIES["utrecht"]["share"] else "overbetuwe"
        m = MUNICIPALITIES[mid]
        url = f"https://{m['feed'].lower().replace(' ', '-')}.example.org/artikel/{i}"
        body = "\n".join(text() for _ in range(3))
        title = text().split(".")[0][:100]
        corpus.setdefault(f"rss:{mid}:{m['feed']}", []).append(
            Post(
                post_id=f"rss:{i:024x}",
                source="rss",
                kind="article",
                channel=m["feed"],
                created_utc=now - timedelta(seconds=rng.randrange(89 * 86400)),
                title=title,
                text=mention(body, m) if rng.random() < 0.9 else body,
                url=url,
                municipality_hint=mid,
            )
        )
    made = n_articles
    while made < n:
        mid = "utrecht" if rng.random() < MUNICIPALITIES["utrecht"]["share"] else "overbetuwe"
        m = MUNICIPALITIES[mid]
        posts = corpus.setdefault(f"reddit:{mid}", [])
        channel = f"r/{m['subreddit']}"
        thread_native = f"t3_{_base36(next(ids))}"
        thread_id = f"reddit:{thread_native}"
        created = now - timedelta(seconds=rng.randrange(86 * 86400))
        body = text()
        posts.append(
            Post(
                post_id=thread_id,
                source="reddit",
                kind="post",
                channel=channel,
                created_utc=created,
                title=text().split(".")[0][:100],
                text=mention(body, m) if rng.random() < 0.8 else body,
                url=f"https://www.reddit.com/r/{m['subreddit']}/comments/{thread_native[3:]}/",
                thread_id=thread_id,
                author_key=author(mid),
                municipality_hint=mid,
            )
        )
        made += 1
        parents = [thread_id]
        for _ in range(min(n - made, rng.choice((0, 1, 2, 3, 4, 5, 6, 8, 12, 20)))):
            native = f"t1_{_base36(next(ids))}"
            deleted = rng.random() < 0.01
            body = text()
            posts.append(
                Post(
                    post_id=f"reddit:{native}",
                    source="reddit",
                    kind="comment",
                    channel=channel,
                    created_utc=created + timedelta(seconds=rng.randrange(3 * 86400)),
                    text="" if deleted else (mention(body, m) if rng.random() < 0.33 else body),
                    url=f"https://www.reddit.com/r/{m['subreddit']}/comments/{thread_native[3:]}/_/{native[3:]}/",
                    parent_id=rng.choice(parents),
                    thread_id=thread_id,
                    author_key=None if deleted else author(mid),
                    municipality_hint=mid,
                    is_deleted=deleted,
                )
            )
            parents.append(f"reddit:{native}")
            made += 1
    return corpus


def write_workdir(workdir: Path, corpus_dir: Path) -> Path:
    """A config for the two municipalities beside a fresh warehouse; returns the config path."""
    lines = [CONFIG]
    for mid, m in MUNICIPALITIES.items():
        slug = m["feed"].lower().replace(" ", "-")
        lines.append(
            f'[[municipalities]]\nid = "{mid}"\nname = "{m["name"]}"\ncbs_code = "{m["cbs"]}"\n'
            f"aliases = {json.dumps(m['aliases'])}\n"
            f"places = {json.dumps(m['places'], ensure_ascii=False)}\n\n"
            f'  [[municipalities.feeds]]\n  name = "{m["feed"]}"\n  url = "https://{slug}.example.org/feed.rss"\n\n'
            f'  [municipalities.reddit]\n  subreddits = ["{m["subreddit"]}"]\n'
        )
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "betrokken.toml"
    config.write_text("\n".join(lines), encoding="utf-8")
    (workdir / "corpus").symlink_to(corpus_dir)
    return config


class CorpusSource:
    """One source of the generated corpus: ``collect`` reads its pickle, as the sample reads files."""

    def __init__(self, key: str, path: Path) -> None:
        self.key = key
        self.path = path

    def collect(self, state: dict[str, Any]) -> Any:
        from sources.base import SourceResult

        started = time.monotonic()
        posts = pickle.loads(self.path.read_bytes())
        newest = max(p.created_utc for p in posts).isoformat()
        return SourceResult(
            self.key, posts=posts, state={"watermark": newest}, duration_s=time.monotonic() - started
        )


def corpus_sources(workdir: Path) -> list[CorpusSource]:
    index = json.loads((workdir / "corpus" / "index.json").read_text(encoding="utf-8"))
    return [CorpusSource(key, workdir / "corpus" / name) for key, name in index.items()]


# ---- Measuring stages. ----


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
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def now_mb(self) -> float:
        import psutil

        total = 0
        for process in [self.me, *self.me.children(recursive=True)]:
            if process.pid in self.skip:
                continue
            try:
                total += process.memory_full_info().pss
            except psutil.Error:  # ended between listing and reading
                continue
        return total / 1024**2

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now_mb())

    def reset(self) -> None:
        self.peak = self.now_mb()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def __reduce__(self) -> tuple[Any, ...]:
        # The bench's flow is defined in __main__, so Prefect pickles it (and what it refers to,
        # this sampler) into every task it sends to a worker process; there it is not needed.
        return (type(None), ())


@dataclass
class Recorder:
    """Seconds, item count and memory per stage, in the order the stages ran."""

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
        started = time.perf_counter()
        yield row
        row["seconds"] = time.perf_counter() - started
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
    from flows.runners import make_runner, one_prefect_api
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
        work = prefect_work(make_runner(args.runner, args.workers), args.runner, args.workers)
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
    """Per stage: (a) seconds, posts/s, items, peak and growth of RSS, peak of all processes;
    (b) seconds, the difference, RSS and the peak of all processes."""
    trace = any("py_peak_mb" in r["runs"][which]["stages"]["store"] for r in direct)
    header = (
        f"{'stage':<9} {'(a) s':>8} {'posts/s':>9} {'items':>8} {'RSS MiB':>8} {'+RSS':>7} {'all MiB':>8} "
        + (f"{'py peak':>8} " if trace else "")
        + f"{'(b) s':>8} {'(b)-(a)':>8} {'(b) RSS':>8} {'(b) all':>8}"
    )
    print(header)

    def value(results: list[dict[str, Any]], stage: str, key: str) -> float | None:
        return _median([r["runs"][which]["stages"].get(stage, {}).get(key) for r in results])

    for stage in STAGES:
        a = value(direct, stage, "seconds") or 0.0
        b = value(prefect, stage, "seconds")
        items = value(direct, stage, "count")
        line = (
            f"{stage:<9} {a:>8.2f} {n / a if a else 0:>9,.0f} {items or 0:>8,.0f} "
            f"{value(direct, stage, 'rss_peak_mb') or 0:>8,.0f} "
            f"{value(direct, stage, 'rss_growth_mb') or 0:>7,.0f} "
            f"{value(direct, stage, 'tree_peak_mb') or 0:>8,.0f} "
        )
        if trace:
            line += f"{value(direct, stage, 'py_peak_mb') or 0:>8,.0f} "
        if b is not None:
            line += (
                f"{b:>8.2f} {b - a:>8.2f} {value(prefect, stage, 'rss_peak_mb') or 0:>8,.0f} "
                f"{value(prefect, stage, 'tree_peak_mb') or 0:>8,.0f}"
            )
        print(line)
    a_total = _median([r["runs"][which]["total"] for r in direct]) or 0.0
    b_total = _median([r["runs"][which]["total"] for r in prefect])
    line = f"{'total':<9} {a_total:>8.2f} {n / a_total:>9,.0f} {'':>8} {'':>8} {'':>7} {'':>8} " + (
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
        corpus_dir.mkdir(exist_ok=True)
        index = {}
        for i, (key, posts) in enumerate(sorted(corpus.items())):
            name = f"source-{i}.pkl"
            (corpus_dir / name).write_bytes(pickle.dumps(posts, protocol=pickle.HIGHEST_PROTOCOL))
            index[key] = name
        (corpus_dir / "index.json").write_text(json.dumps(index), encoding="utf-8")
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
