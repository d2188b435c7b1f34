"""Every figure of the default NLP, on the project's own texts and on real Dutch text written by others.

1. Accuracy on ``tests/data/nlp_dev.csv`` (posts written and labelled for this project; the word
   lists were tuned on them): sentiment binary on the non-neutral posts and three-way on all, each
   beside the pattern.nl analyser of textblob-nl and the majority-class baseline; topics per topic,
   micro, exact set, and the share of posts with no topic.
2. The same on the real labelled sets in ``--real`` (default ``../shared/nlp_dev`` beside the
   checkout; ``nlp/realsets.py`` knows them by file name), when they are there, and a plain line
   saying so when they are not: binary sentiment on the film subtitles, three-way tone on the news
   headlines (and binary on its non-neutral headlines), the SIB-200 topics that map onto the
   taxonomy, and per set the share of texts with no topic and the share not taken as Dutch.
3. Speed: texts per second and peak memory of the whole default enrichment (language, lemmas,
   topics, sentiment, trust) as installed (its hot modules compiled by mypyc, see ``setup.py``), of
   the same as plain Python (``BETROKKEN_COMPILED=0``; when the installation is compiled), of the
   default with the learnt sentiment (``nlp.learnt_sentiment``) instead of the lexicon's, and of
   pattern.nl (sentiment only) on the same texts: the generated
   posts of ``bench/generate.py``, and every row of the real sets. Each run is a fresh process on one
   core that reads the texts twice: the first pass is the figure (it includes learning every new
   word, as a nightly worker does), the second shows what the per-word caches save. Texts per second
   are per second of the process's CPU time (``time.process_time``), which other load on a shared
   machine disturbs less than wall time; loading the analyser is timed the same way, apart. The
   analysers alternate, and the medians of ``--repeats`` runs are printed. ``--against CHECKOUT``
   adds the default enrichment of another checkout (an earlier commit, installed in its own
   ``.venv``; its row is "at" and its commit, with "plain" when it did not run compiled) to the
   alternation, for a change's speed against the code before it in the same run;
   ``--speed-only`` prints these figures alone.
4. Topics on texts labelled for the project by hand (``bench/labels/``; headlines' text read from
   ``--real``): the share with no topic, the best topic's accuracy and the micro precision, with the
   lexicon and, when the ``embeddings`` extra is installed, with the fitted embedding topic head
   (``nlp/fit_topics.py``) and the head alone, on the labels the head was not fitted on (the
   independent samples of headlines, pooled as well with bootstrap intervals, and the posts of the
   two outside writers) and on SIB-200's test rows; each line gives its CPU time per text.

pattern.nl gets the rule the lexicon has: positive above 0, negative below, neutral at 0 (binary:
positive above 0). Both run offline (its lexicon ships with the textblob-nl package). The learnt
sentiment's figures are printed beside the lexicon's, except on a set it was fitted on (its
cross-validated figure there comes from ``python -m nlp.fit_sentiment``).

Usage: python bench/nlp.py [--posts 10000] [--repeats 3] [--real ../shared/nlp_dev]
                          [--speed-only] [--against ../checkout-of-main]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import ROOT, code_line, machine_line, maxrss_mb

if TYPE_CHECKING:  # the speed runs' fresh processes import this module: keep spaCy out of its imports
    from nlp.evaluate import EvalReport, Scored

DEV_CSV = ROOT / "tests" / "data" / "nlp_dev.csv"
DEFAULT_REAL = ROOT.parent / "shared" / "nlp_dev"
ANALYSERS = ("betrokken", "plain Python", "learnt", "pattern.nl")
ENRICHERS = ANALYSERS[:3]  # the default enrichment: as installed, as plain Python, with learnt sentiment


def _pattern_analyser() -> Callable[[str], float]:
    """The polarity function of textblob-nl's pattern.nl analyser, its lexicon loaded."""
    from textblob_nl.sentiments import PatternAnalyzer

    analyzer = PatternAnalyzer()
    analyzer.analyze("opwarmen")  # loads the lexicon
    return lambda text: analyzer.analyze(text)[0]


def _pattern_scored(polarity: Callable[[str], float], texts: Sequence[str]) -> list[Scored]:
    from nlp.evaluate import Scored

    scored = []
    for text in texts:
        value = polarity(text)
        label = "positive" if value > 0 else "negative" if value < 0 else "neutral"
        scored.append(Scored(label, value))
    return scored


def _real_texts(folder: Path) -> list[str]:
    """Every row's text of the real sets that are present, in the order of ``REAL_SETS``."""
    from nlp.evaluate import read_csv_columns
    from nlp.realsets import locate

    present, _ = locate(folder)
    return [r[s.text_col] for s, path in present for r in read_csv_columns(path, [s.text_col])]


# --- speed ------------------------------------------------------------------------------------------


def _run(kind: str, texts: list[str], queue: mp.Queue) -> None:
    """Analyse ``texts`` twice: the first pass includes learning each new word, the second does not."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    loading = time.process_time()
    if kind in ENRICHERS:
        from nlp import pipeline
        from nlp.version import BackendOptions

        if kind == "plain Python" and not pipeline.__file__.endswith(".py"):
            queue.put(RuntimeError(f"{kind} ran the compiled build: {pipeline.__file__}"))
            return
        enricher = pipeline.get_enricher(BackendOptions(learnt_sentiment=kind == "learnt"))

        def analyse() -> None:
            for _ in enricher.enrich(texts):
                pass
    else:
        polarity = _pattern_analyser()

        def analyse() -> None:
            for text in texts:
                polarity(text)

    load = time.process_time() - loading
    before = maxrss_mb()
    rates = []
    for _ in range(2):
        started = time.process_time()
        analyse()
        rates.append(len(texts) / (time.process_time() - started))
    queue.put((*rates, maxrss_mb(), maxrss_mb() - before, load))


def measure(kind: str, texts: list[str]) -> tuple[float, float, float, float, float]:
    """Texts per CPU second of a first and a second pass, peak RSS and its growth while analysing, and
    the CPU seconds of loading the analyser, in a fresh process."""
    from nlp import NOT_COMPILED

    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_run, args=(kind, texts, queue))
    if kind == "plain Python":  # the new process copies this environment and reads it on ``import nlp``
        os.environ[NOT_COMPILED] = "0"
    try:
        proc.start()
    finally:
        if kind == "plain Python":
            del os.environ[NOT_COMPILED]
    result = queue.get()
    if isinstance(result, Exception):
        raise result
    proc.join()
    return result


# Runs in the other checkout's interpreter, in that checkout: its own bench module times its own
# enrichment (``_run``, which gives these five figures from commit 60e01b4 on) and says whether that
# ran compiled (checkouts before the compiled build have no ``why_plain_python``: plain Python).
_OTHER_CHECKOUT_RUN = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("other_bench", "bench/nlp.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
with open(sys.argv[1], encoding="utf-8") as f:
    texts = json.load(f)
class Found(list):
    put = list.append
found = Found()
bench._run("betrokken", texts, found)
if isinstance(found[0], Exception):
    raise found[0]
import nlp
why = getattr(nlp, "why_plain_python", None)
compiled = why is not None and why(nlp.build_record()) is None
print(json.dumps([compiled, *found[0]]))
"""

Figures = tuple[float, float, float, float, float]


def measure_other_checkout(checkout: Path, texts_file: Path) -> tuple[bool, Figures]:
    """Whether another checkout's default enrichment runs compiled, and its ``measure``, in a fresh
    process of that checkout's ``.venv``."""
    command = [str(checkout / ".venv" / "bin" / "python"), "-c", _OTHER_CHECKOUT_RUN, str(texts_file)]
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"--against {checkout}: its speed run failed: {last}")
    compiled, *figures = json.loads(done.stdout.strip().splitlines()[-1])
    if len(figures) != 5:
        raise SystemExit(f"--against {checkout}: its bench/nlp.py is older than commit 60e01b4")
    first, second, peak, growth, load = figures
    return compiled, (first, second, peak, growth, load)


def other_checkout_row(checkout: Path, compiled: bool) -> str:
    """The other checkout's row name: its commit (``+`` when it has uncommitted changes), and
    "plain" when its enrichment did not run compiled."""
    described = subprocess.run(
        ["git", "-C", str(checkout), "describe", "--always", "--dirty=+"], capture_output=True, text=True
    ).stdout.strip()
    return f"at {described or checkout.name}" + ("" if compiled else " plain")


Runs = dict[str, list[Figures]]


def installed_build() -> str:
    """Whether the enrichment runs compiled, or as plain Python and why (``nlp/__init__.py``)."""
    from nlp import build_record, why_plain_python

    reason = why_plain_python(build_record())
    return "compiled" if reason is None else f"plain Python ({reason})"


def speed_runs(texts: list[str], repeats: int, against: Path | None = None) -> Runs:
    """Every analyser ``repeats`` times on ``texts``, alternating, so machine noise hits both alike;
    "plain Python" only when "betrokken" runs compiled; with ``against``, that checkout's enrichment
    too (its row is named by its commit).

    Called before this process loads spaCy or the lexicons: Linux carries a process's peak RSS over
    into the child it spawns, so a heavy parent would inflate the children's peaks.
    """
    kinds = [k for k in ANALYSERS if k != "plain Python" or installed_build() == "compiled"]
    runs: Runs = {kind: [] for kind in kinds}
    with tempfile.TemporaryDirectory() as folder:
        texts_file = Path(folder) / "texts.json"
        if against:
            texts_file.write_text(json.dumps(texts), encoding="utf-8")
        for _ in range(repeats):
            for kind in kinds:
                runs[kind].append(measure(kind, texts))
            if against:
                compiled, figures = measure_other_checkout(against, texts_file)
                runs.setdefault(other_checkout_row(against, compiled), []).append(figures)
    return runs


def print_speed(title: str, runs: Runs, repeats: int) -> None:
    print(f"\n{title}, {repeats} runs each, one core, medians; betrokken runs {installed_build()}")
    print(
        f"{'analyser':<12} {'texts/CPU s':>11} {'2nd pass':>10} {'peak RSS MB':>12} {'growth MB':>10} "
        f"{'load CPU s':>10}"
    )
    medians = {}
    for kind, values in runs.items():
        medians[kind] = statistics.median(v[0] for v in values)
        second, peak, growth, load = (statistics.median(v[i] for v in values) for i in (1, 2, 3, 4))
        print(
            f"{kind:<12} {medians[kind]:>11.0f} {second:>10.0f} {peak:>12.0f} {growth:>10.0f} {load:>10.2f}"
        )
    for kind in ENRICHERS:
        if kind in medians:
            print(f"ratio {kind} / pattern.nl: {medians[kind] / medians['pattern.nl']:.2f}x")
    if "plain Python" in medians:
        print(f"ratio betrokken / plain Python: {medians['betrokken'] / medians['plain Python']:.2f}x")
    for kind in [k for k in medians if k not in ANALYSERS]:  # another checkout's (``--against``)
        print(f"ratio {kind} / pattern.nl: {medians[kind] / medians['pattern.nl']:.2f}x")
        print(f"ratio betrokken / {kind}: {medians['betrokken'] / medians[kind]:.2f}x")
    print(
        "(betrokken, plain Python and learnt do language, lemmas, topics, sentiment and trust; "
        "pattern.nl sentiment only)"
    )


# --- accuracy ---------------------------------------------------------------------------------------


def _sentiment_line(name: str, report: EvalReport) -> str:
    return f"  {name:<22} accuracy {report.accuracy:.3f}  macro F1 {report.macro_f1:.3f}"


def print_sentiment(
    title: str,
    texts: Sequence[str],
    gold: Sequence[str],
    ours: Sequence[Any],
    learnt: Sequence[Any] | None,
    polarity: Callable,
) -> None:
    """Our figures (the lexicon's, and the learnt model's unless it was fitted on these texts, None),
    pattern.nl's and the majority baseline's on the same texts."""
    from nlp.evaluate import score_sentiment

    report = score_sentiment(gold, ours, "lexicon", 0.0)
    pattern = score_sentiment(gold, _pattern_scored(polarity, texts), "pattern.nl", 0.0)
    baseline = report.extra["majority_baseline"]
    counts = ", ".join(f"{c.label} {c.support}" for c in report.per_class)
    print(f"{title} ({report.extra['mode']}, n={report.n}: {counts})")
    print(_sentiment_line("betrokken (lexicon)", report))
    if learnt is None:
        print(f"  {'betrokken (learnt)':<22} fitted on these rows: see python -m nlp.fit_sentiment")
    else:
        learnt_report = score_sentiment(gold, learnt, "learnt", 0.0)
        print(_sentiment_line("betrokken (learnt)", learnt_report))
    print(_sentiment_line("pattern.nl", pattern))
    print(
        f"  {'always ' + baseline['label']:<22} accuracy {baseline['accuracy']:.3f}  "
        f"macro F1 {baseline['macro_f1']:.3f}"
    )
    print("  betrokken per class: " + ", ".join(f"{c.label} F1 {c.f1:.3f}" for c in report.per_class))


def print_topics(title: str, report: EvalReport, per_topic: bool) -> None:
    extra = report.extra
    print(
        f"{title} (n={report.n}): micro precision {extra['micro_precision']:.3f}, recall "
        f"{extra['micro_recall']:.3f}, F1 {extra['micro_f1']:.3f}; macro F1 {report.macro_f1:.3f}; "
        f"exact topic set {report.accuracy:.3f}; no topic {extra['no_topic_share']:.3f}"
    )
    if per_topic:
        print(f"  {'topic':<24} {'precision':>9} {'recall':>7} {'n':>5}")
        for c in report.per_class:
            print(f"  {c.label:<24} {c.precision:>9.3f} {c.recall:>7.3f} {c.support:>5}")


def _non_neutral(
    texts: Sequence[str], gold: Sequence[str], ours: Sequence[Any], learnt: Sequence[Any] | None
) -> tuple[list, list, list, list | None]:
    keep = [i for i, g in enumerate(gold) if g != "neutral"]
    return (
        [texts[i] for i in keep],
        [gold[i] for i in keep],
        [ours[i] for i in keep],
        None if learnt is None else [learnt[i] for i in keep],
    )


def _learnt_enricher() -> Any:
    from nlp.pipeline import get_enricher
    from nlp.version import BackendOptions

    return get_enricher(BackendOptions(learnt_sentiment=True))


def dev_figures(enricher: Any, polarity: Callable) -> None:
    from nlp.evaluate import parse_sentiment, read_csv_columns, score_topics, topic_gold

    rows = read_csv_columns(DEV_CSV, ["text", "topic", "sentiment"])
    texts = [r["text"] for r in rows]
    ours = list(enricher.enrich(texts))
    learnt = list(_learnt_enricher().enrich(texts))
    gold = [parse_sentiment(r["sentiment"], i, DEV_CSV) for i, r in enumerate(rows)]
    print(f"\n== The project's development posts ({DEV_CSV.relative_to(ROOT)}; word lists tuned on them)")
    print_sentiment("sentiment, the non-neutral posts", *_non_neutral(texts, gold, ours, learnt), polarity)
    print_sentiment("sentiment, all posts", texts, gold, ours, learnt, polarity)
    topics = enricher.topics.ids
    report = score_topics(
        topic_gold(rows, "topic", topics, DEV_CSV),
        [{h.id for h in r.topics} for r in ours],
        sorted(topics),
        "lexicon",
        0.0,
    )
    print_topics("topics, multi-label", report, per_topic=True)


def real_figures(enricher: Any, polarity: Callable, folder: Path) -> None:
    """The figures on each real set in ``folder``, and which sets it lacks."""
    from nlp.evaluate import no_topic_share, parse_sentiment, read_csv_columns, score_topics, topic_gold
    from nlp.realsets import locate

    present, missing = locate(folder)
    print(f"\n== Real Dutch text written by others ({folder})")
    for real_set in missing:
        print(f"{real_set.file}: absent, its figures are skipped")
    for real_set, path in present:
        rows = read_csv_columns(path, [real_set.text_col, real_set.label_col])
        texts = [r[real_set.text_col] for r in rows]
        ours = list(enricher.enrich(texts))
        not_dutch = sum(1 for r in ours if r.language != "nl") / len(ours)
        print(
            f"\n{real_set.name} ({real_set.file}, all {len(rows)} rows): {real_set.about}\n"
            f"  no topic {no_topic_share([{h.id for h in r.topics} for r in ours]):.3f}; "
            f"not taken as Dutch {not_dutch:.3f}"
        )
        if real_set.task == "sentiment":
            gold = [parse_sentiment(r[real_set.label_col], i, path) for i, r in enumerate(rows)]
            learnt_enricher = _learnt_enricher()
            fitted_on = {e["file"] for e in learnt_enricher.sentiment_scorer.model.provenance["fitted_on"]}
            learnt = None if real_set.file in fitted_on else list(learnt_enricher.enrich(texts))
            print_sentiment("sentiment", texts, gold, ours, learnt, polarity)
            if "neutral" in gold:
                print_sentiment(
                    "sentiment, the non-neutral rows", *_non_neutral(texts, gold, ours, learnt), polarity
                )
        else:
            topics = enricher.topics.ids
            mapped = sorted({t for t in real_set.topic_map.values() if t is not None})
            predicted = [{h.id for h in r.topics} for r in ours]
            gold = topic_gold(rows, real_set.label_col, topics, path, real_set.topic_map)
            report = score_topics(gold, predicted, mapped, "lexicon", 0.0)
            mapping = ", ".join(f"{k} -> {v or '-'}" for k, v in real_set.topic_map.items())
            print(f"  mapping: {mapping}")
            print_topics("topics, the mapped ones", report, per_topic=True)
            by_label: dict[str, list[set[str]]] = defaultdict(list)
            for row, p in zip(rows, predicted, strict=True):
                by_label[row[real_set.label_col]].append(p)
            print(
                "  share with any topic, per topic of the set: "
                + ", ".join(f"{label} {1 - no_topic_share(p):.3f}" for label, p in sorted(by_label.items()))
            )


def _topic_figures(
    title: str,
    predict: Callable[[list[str]], list[list[str]]],
    texts: list[str],
    gold: list[set[str]],
    topics: list[str],
) -> list[list[str]]:
    """No topic (all texts, and those with a gold topic), best topic right, micro precision and recall,
    and the CPU time per text (``time.process_time``: steadier than wall time on a shared machine);
    the predictions are returned."""
    from nlp.evaluate import score_topics

    started = time.process_time()
    ranked = predict(texts)
    ms = 1000 * (time.process_time() - started) / len(texts)
    report = score_topics(
        gold, [set(r) for r in ranked], topics, "", 0.0, [r[0] if r else None for r in ranked]
    )
    with_gold = [r for r, g in zip(ranked, gold, strict=True) if g]
    extra = report.extra
    print(
        f"  {title:<28} no topic {extra['no_topic_share']:.3f} (texts with a gold topic: "
        f"{sum(1 for r in with_gold if not r) / len(with_gold):.3f}); best topic right "
        f"{extra['top_topic_accuracy']:.3f}; micro precision {extra['micro_precision']:.3f}, "
        f"recall {extra['micro_recall']:.3f}; {ms:.2f} ms CPU a text"
    )
    return ranked


def _pooled_with_intervals(
    gold: list[set[str]], ranked: dict[str, list[list[str]]], topics: list[str], draws: int = 2000
) -> None:
    """Each engine's figures on the independent samples pooled, with 95% bootstrap intervals (texts
    drawn with replacement, seed 0), and its micro precision minus the lexicon's on the same draws."""
    import numpy as np

    from nlp.fit_topics import figures

    rng = np.random.default_rng(0)
    samples = [rng.integers(0, len(gold), len(gold)) for _ in range(draws)]
    drawn = {
        name: [figures([gold[i] for i in s], [r[i] for i in s], topics) for s in samples]
        for name, r in ranked.items()
    }

    def interval(values: list[float]) -> str:
        low, high = np.percentile(values, [2.5, 97.5])
        return f"({low:.3f} to {high:.3f})"

    lexicon = figures(gold, ranked["lexicon"], topics)
    for name, r in ranked.items():
        f, d = figures(gold, r, topics), drawn[name]
        gap = [a["micro_precision"] - b["micro_precision"] for a, b in zip(d, drawn["lexicon"], strict=True)]
        difference = f["micro_precision"] - lexicon["micro_precision"]
        against = "" if name == "lexicon" else f", minus the lexicon's {difference:+.3f} {interval(gap)}"
        print(
            f"  {name:<28} no topic (texts with a gold topic) {f['no_topic_with_gold']:.3f} "
            f"{interval([x['no_topic_with_gold'] for x in d])}; best topic right {f['best_topic_right']:.3f} "
            f"{interval([x['best_topic_right'] for x in d])}; micro precision {f['micro_precision']:.3f}"
            f"{against}"
        )


def topic_sample_figures(enricher: Any, folder: Path) -> None:
    """Topics on the texts we labelled by the taxonomy ourselves (bench/labels/), with the lexicon
    and, when the extra is installed, with the fitted embedding head (and the head alone) on every set
    it was not fitted on: the independent samples of headlines, the writers' posts, SIB-200's test
    rows."""
    from bench.topic_labels import (
        HEAD_MEASURES,
        HEAD_TRAINING,
        LABELS,
        POST_MEASURES,
        SECOND_READINGS,
        load_samples,
        read_labels,
        second_readings,
    )
    from nlp.embeddings import EmbeddingsUnavailable
    from nlp.evaluate import read_csv_columns, topic_gold
    from nlp.pipeline import get_enricher
    from nlp.realsets import SIB200_TOPIC_MAP
    from nlp.version import BackendOptions

    def topics_of(engine: Any) -> Callable[[list[str]], list[list[str]]]:
        return lambda texts: [[h.id for h in r.topics] for r in engine.enrich(texts)]

    engines = [("lexicon", topics_of(enricher))]
    try:
        with_head = get_enricher(BackendOptions(topic_embeddings=True))
    except EmbeddingsUnavailable as exc:
        print(f"\n(embedding topic head skipped: {exc})")
    else:
        head = with_head.topic_fallback
        engines += [
            ("lexicon + fitted head", topics_of(with_head)),
            ("fitted head alone", lambda texts: [[t for t, _ in hits] for hits in head.predict(texts)]),
        ]
    samples = load_samples(folder)
    topics = sorted(enricher.topics.ids)
    for name, a in second_readings():
        print(
            f"\n{name}: two annotators' readings of its {a.rows} rows agree: a topic or none, kappa "
            f"{a.topic_or_none_kappa:.2f} ({a.with_topic[0]} and {a.with_topic[1]} rows with a topic); "
            f"the same main topic for {a.same_main_topic:.3f} of the rows both gave one; the second "
            f"against the first: micro precision {a.second_micro_precision:.3f}, recall "
            f"{a.second_micro_recall:.3f}"
        )
    groups = {
        "the independent samples of headlines": HEAD_MEASURES,
        # labelled after the head of f53bc03 was fixed: its measure on labels no choice was made on
        "the fifth and sixth samples of headlines": HEAD_MEASURES[2:],
        "the posts of both writers": POST_MEASURES,
    }
    pooled_gold: dict[str, list[set[str]]] = {group: [] for group in groups}
    pooled = {group: {name: [] for name, _ in engines} for group in groups}
    for sample in samples:
        fitted = f"{sample.name}.csv" in HEAD_TRAINING
        note = "; the head was fitted on it, its cross-validated figures are in nlp/data/topic_head.json"
        what = "posts written outside the project" if sample.role.endswith("posts") else "real texts"
        print(
            f"\n{sample.name} ({len(sample.texts)} {what} labelled for the project, {sample.role} sample"
            f"{note if fitted else ''}):"
        )
        gold = [set(g) for g in sample.gold]
        pools = [] if fitted else [g for g, files in groups.items() if f"{sample.name}.csv" in files]
        for name, predict in engines[:1] if fitted else engines:
            ranked = _topic_figures(name, predict, sample.texts, gold, topics)
            for group in pools:
                pooled[group][name] += ranked
        for group in pools:
            pooled_gold[group] += gold
        if second := SECOND_READINGS.get(f"{sample.name}.csv"):
            other = read_labels(LABELS / second)
            print(f"  against the second reading ({second}):")
            _topic_figures(
                "lexicon", engines[0][1], sample.texts, [set(other[r]) for r in sample.rows], topics
            )
    for group, gold in pooled_gold.items():
        if gold:
            print(f"\n{group} pooled ({len(gold)} texts), 95% bootstrap intervals:")
            _pooled_with_intervals(gold, pooled[group], topics)
    rows = read_csv_columns(DEV_CSV, ["text", "topic"])
    dev_gold = topic_gold(rows, "topic", topics, DEV_CSV)
    print(
        f"\n{DEV_CSV.relative_to(ROOT)} (the word lists and the topic score were fitted here, and the "
        "head; its cross-validated figures are in nlp/data/topic_head.json):"
    )
    _topic_figures("lexicon", engines[0][1], [r["text"] for r in rows], dev_gold, topics)
    sib = folder / "sib200_topics.csv"
    if sib.is_file():
        test_rows = read_csv_columns(sib, ["text", "topic"])[800:]  # the given test split
        gold = topic_gold(test_rows, "topic", topics, sib, SIB200_TOPIC_MAP)
        mapped = sorted({t for t in SIB200_TOPIC_MAP.values() if t is not None})
        print(f"\nSIB-200 test rows (801-1004), the mapped topics ({', '.join(mapped)}):")
        for name, predict in engines:
            _topic_figures(name, predict, [r["text"] for r in test_rows], gold, mapped)


def accuracy_figures(real: Path) -> None:
    """Sections 1, 2 and 4 of this module's description."""
    from nlp.pipeline import get_enricher

    enricher = get_enricher()
    polarity = _pattern_analyser()
    dev_figures(enricher, polarity)
    if real.is_dir():
        real_figures(enricher, polarity, real)
    else:
        print(f"\n== Real Dutch text: {real} is absent, so there are no figures on real text")
    print("\n== Topics: texts labelled for the project, and the fitted embedding topic head")
    topic_sample_figures(enricher, real)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=10_000, help="generated posts for the speed runs")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs per analyser and corpus")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL, help="folder of the real labelled sets")
    parser.add_argument("--speed-only", action="store_true", help="the speed runs alone")
    parser.add_argument(
        "--against", type=Path, help="another checkout, installed in its .venv, to time in the same runs"
    )
    args = parser.parse_args()
    if args.against:
        args.against = args.against.resolve()  # its process runs in that folder
        if not all((args.against / part).exists() for part in (".venv/bin/python", "bench/nlp.py")):
            parser.error(f"--against {args.against}: no .venv/bin/python or bench/nlp.py there (install it)")
    print(machine_line())
    print(code_line())
    from bench.generate import generate

    generated = list(generate(args.posts, seed=42))
    speeds = [(f"{args.posts} generated posts", speed_runs(generated, args.repeats, args.against))]
    if real_texts := _real_texts(args.real) if args.real.is_dir() else []:
        real_runs = speed_runs(real_texts, args.repeats, args.against)
        speeds.append((f"the {len(real_texts)} rows of the real sets", real_runs))
    if not args.speed_only:
        accuracy_figures(args.real)
    for title, runs in speeds:
        print_speed(f"== Speed: {title}", runs, args.repeats)


if __name__ == "__main__":
    main()
