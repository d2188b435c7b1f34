"""Warehouse scale: how fast the queries users run are on a warehouse of N enriched posts.

The warehouse is built quickly with SQL, not through the NLP: a fresh DuckDB file from
``warehouse.db.connect`` (so the real migrations, keys and views), then ``INSERT ... SELECT ... FROM
range(N)`` with hash-based pseudo-random values shaped like what the nightly flow writes: 20
municipalities of skewed size, Reddit (submissions and comments, per-municipality subreddit and
r/thenetherlands) and one local news feed each, a year of days, text purged after 90 days,
pseudonymous authors with a long tail, about 1.35 topics per post over the 18 taxonomy topics,
lexicon-style sentiment and trust, profile signals per Reddit post, one nightly run per day with its
source records, and a year of nightly estimates (each night writes a new 90-day period, as
``store_estimates`` does). Rows are appended day by day, as the nightly runs append them, so that
DuckDB's per-row-group min/max statistics look as they would. ``post_minhash`` and ``post_lsh`` stay
empty (no measured query reads them).

Then it times, with ``--repeat`` repetitions (first run, median, min):
- the reach-gap query of one municipality and ``betrokken gap`` over all municipalities (the
  function that command calls, ``warehouse.queries.reach_gap``);
- ``warehouse.report.render_report`` for the largest municipality as a whole, and its SQL
  statements separately (imported from ``warehouse.report``, so they are the ones that run);
- the researcher views, ``warehouse.publish.write_snapshot``, and ``write_export`` in full, with
  nothing changed, and after a night's changes (texts of one day purged, items of the newest day
  deleted at the source; made in a transaction that is rolled back afterwards).

Usage:
    python bench/warehouse_queries.py --rows 1000000 [--repeat 5] [--keep PATH | --reuse PATH] [--explain]

``--keep PATH`` writes the warehouse to PATH and leaves it there (else a temporary folder is used
and removed). ``--reuse PATH`` measures a warehouse built earlier with ``--keep`` (migrations are
applied when it is opened) instead of building one; ``--rows`` is then only a label. ``--explain``
prints EXPLAIN ANALYZE of every timed SQL statement after the table.
The machine is shared: read medians, and compare figures only within one run.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ comes first on the path: put this checkout before it, so `warehouse` is the
# package and no installed copy is imported.
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import yaml  # noqa: E402

import warehouse.report as report_sql  # noqa: E402
from warehouse.queries import reach_gap, reach_gap_statement  # noqa: E402

MUNICIPALITIES = [  # (id, name, CBS code, subreddit, news feed): labels only, the data is synthetic
    ("utrecht", "Utrecht", "GM0344", "utrecht", "Domstad Nieuws"),
    ("amsterdam", "Amsterdam", "GM0363", "Amsterdam", "Het Stadsblad"),
    ("rotterdam", "Rotterdam", "GM0599", "rotterdam", "Maasstad Nieuws"),
    ("den-haag", "Den Haag", "GM0518", "thehague", "Hofstad Courant"),
    ("eindhoven", "Eindhoven", "GM0772", "eindhoven", "Lichtstad Nieuws"),
    ("groningen", "Groningen", "GM0014", "groningen", "Stadjer Nieuws"),
    ("tilburg", "Tilburg", "GM0855", "tilburg", "Tilburgse Courant"),
    ("almere", "Almere", "GM0034", "Almere", "Almere Vandaag"),
    ("breda", "Breda", "GM0758", "breda", "Bredase Bode"),
    ("nijmegen", "Nijmegen", "GM0268", "Nijmegen", "Waalstad Nieuws"),
    ("arnhem", "Arnhem", "GM0202", "Arnhem", "Arnhemse Koerier"),
    ("haarlem", "Haarlem", "GM0392", "haarlem", "Spaarnestad Nieuws"),
    ("enschede", "Enschede", "GM0153", "enschede", "Twentse Bode"),
    ("amersfoort", "Amersfoort", "GM0307", "amersfoort", "Keistad Nieuws"),
    ("zwolle", "Zwolle", "GM0193", "zwolle", "Zwolse Courant"),
    ("leiden", "Leiden", "GM0546", "leiden", "Sleutelstad Nieuws"),
    ("maastricht", "Maastricht", "GM0935", "maastricht", "Maasbode"),
    ("dordrecht", "Dordrecht", "GM0505", "dordrecht", "Dordtse Krant"),
    ("zoetermeer", "Zoetermeer", "GM0637", "zoetermeer", "Zoetermeerse Post"),
    ("overbetuwe", "Overbetuwe", "GM1734", "Betuwe", "Betuwe Bode"),
]
SIZE_SKEW = 1.6  # municipality index = floor(20 * u ** SIZE_SKEW): the first is the largest
AUTHOR_SKEW = 2.5  # author index = floor(pool * u ** AUTHOR_SKEW): a few authors write much
TEXT_POOL = 20_000  # generated texts that post bodies are put together from
RETENTION_DAYS = 90
PERIOD_DAYS = 90
AS_OF = date(2026, 11, 25)  # the latest nightly run estimates the period up to this day

# ---- The SQL users run: `betrokken gap` and the report's come from their modules (imported above). ----

# What a researcher asks of v_reach_gap for one municipality.
REACH_GAP_SQL = (
    "SELECT * FROM v_reach_gap WHERE municipality = $m AND topic IS NULL AND channel IS NULL "
    "AND period_end = (SELECT max(period_end) FROM v_reach_gap)"
)
# The report's statements, in the order render_report runs them, from the report module itself.
REPORT_SQL = report_sql.REPORT_SQL
# A plain full scan and aggregate of posts: the baseline each query is compared with, so that figures
# taken while the shared machine is busier stay comparable.
BASELINE_SQL = "SELECT municipality_id, count(*), max(created_utc) FROM posts GROUP BY 1"
TOPIC_DAILY_SQL = "SELECT count(*) FROM v_topic_daily"
SENTIMENT_MONTHLY_SQL = """
    SELECT municipality_id, CAST(date_trunc('month', day) AS DATE) AS month, topic_id, source,
           sum(n_posts) AS n_posts, sum(mean_score * n_posts) / sum(n_posts) AS mean_score,
           sum(n_negative) AS n_negative, sum(n_neutral) AS n_neutral, sum(n_positive) AS n_positive
    FROM v_sentiment_daily GROUP BY ALL ORDER BY ALL"""


# ---- Machine and timing helpers (bench/pipeline.py uses them too). ----


def machine_line() -> str:
    """Cores, CPU model and RAM of this machine, with the load when the bench started."""
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    ram_kb = 0
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                ram_kb = int(line.split()[1])
    usable = len(os.sched_getaffinity(0))
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores ({usable} usable), {model}, {ram_kb / 1024**2:.1f} GiB RAM, "
        f"load average {load}; Python {platform.python_version()}, DuckDB {duckdb.__version__}"
    )


def code_line() -> str:
    """Which code was measured: the commit, and a digest of uncommitted changes on top of it."""
    import hashlib

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True
        ).stdout

    try:
        head = git("rev-parse", "--short", "HEAD").strip()
        changed = git("status", "--porcelain", "--untracked-files=no").splitlines()
        digest = hashlib.sha1(git("diff", "HEAD", "--no-color").encode()).hexdigest()[:8]
    except (OSError, subprocess.CalledProcessError):
        return f"code: {ROOT}, not a git checkout"
    if not changed:
        return f"code: {ROOT}, commit {head}"
    return f"code: {ROOT}, commit {head} plus {len(changed)} changed files (diff {digest})"


def maxrss_mb() -> float:
    """High-water mark of this process's resident memory, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def size_mb(path: Path) -> float:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1024**2
    return path.stat().st_size / 1024**2 if path.exists() else 0.0


@dataclass
class Timing:
    operation: str
    seconds: list[float]
    rows: int | None = None  # for build steps: rows written
    note: str = ""

    @property
    def first(self) -> float:
        return self.seconds[0]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def best(self) -> float:
        return min(self.seconds)


BASELINE = "baseline: scan posts"


def repeat(operation: str, fn: Callable[[], Any], times: int, note: str = "") -> Timing:
    seconds = []
    for _ in range(times):
        started = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - started)
    return Timing(operation, seconds, note=note)


def print_table(timings: list[Timing]) -> None:
    width = max(len(t.operation) for t in timings) + 2
    base = next((t.median for t in timings if t.operation == BASELINE), None)
    print(
        f"{'operation':<{width}} {'first s':>9} {'median s':>9} {'min s':>9} {'x scan':>8} "
        f"{'rows/s':>12}  note"
    )
    for t in timings:
        rate = f"{t.rows / t.median:>12,.0f}" if t.rows else f"{'':>12}"
        measured = base and not t.operation.startswith("build")
        ratio = f"{t.median / base:>8.1f}" if measured else f"{'':>8}"
        print(
            f"{t.operation:<{width}} {t.first:>9.3f} {t.median:>9.3f} {t.best:>9.3f} {ratio} {rate}  {t.note}"
        )


# ---- Building the warehouse. ----


def _setup_helpers(con: duckdb.DuckDBPyConnection, n: int, days: int) -> dict[str, Any]:
    """Temporary lookup tables and macros the generating SQL uses; nothing here is persisted."""
    from bench.generate import generate
    from nlp.version import nlp_version
    from profiles.evidence import evidence_for
    from profiles.model import load_model

    con.execute("CREATE OR REPLACE TEMP MACRO bu(i, k) AS (hash(i, k) % 1000003) / 1000003.0")
    con.execute(
        "CREATE OR REPLACE TEMP MACRO b_kind(i) AS CASE WHEN bu(i, 2) >= 0.85 THEN 'article' "
        "WHEN bu(i, 3) < 0.3 THEN 'post' ELSE 'comment' END"
    )
    # Reddit ids are short base-36 strings in no particular order; a bijective scramble of i is alike.
    con.execute(
        "CREATE OR REPLACE TEMP MACRO b_post_id(i) AS CASE b_kind(i) "
        "WHEN 'article' THEN 'rss:' || substr(md5(CAST(i AS VARCHAR)), 1, 24) "
        "WHEN 'post' THEN printf('reddit:t3_%08x', (i * 2654435761) % 4294967296) "
        "ELSE printf('reddit:t1_%08x', (i * 2654435761) % 4294967296) END"
    )
    shares = [((m + 1) / 20) ** (1 / SIZE_SKEW) - (m / 20) ** (1 / SIZE_SKEW) for m in range(20)]
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bench_munis (idx INTEGER, slug VARCHAR, name VARCHAR, cbs VARCHAR, "
        "subreddit VARCHAR, feed VARCHAR, share DOUBLE, authors BIGINT, voices90 BIGINT)"
    )
    con.executemany(
        "INSERT INTO bench_munis VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                i,
                slug,
                name,
                cbs,
                sub,
                feed,
                shares[i],
                max(50, round(n * shares[i] / 4)),
                # voices in a 90-day period: about one author per five Reddit posts of the period
                max(1, round(n * shares[i] * 0.85 * min(1.0, PERIOD_DAYS / days) / 5)),
            )
            for i, (slug, name, cbs, sub, feed) in enumerate(MUNICIPALITIES)
        ],
    )
    taxonomy = yaml.safe_load((ROOT / "nlp" / "data" / "topics.yaml").read_text(encoding="utf-8"))
    topics = [t["id"] for t in taxonomy["topics"]]
    evidence = [list(t.get("lemmas", []))[:2] or [t["id"]] for t in taxonomy["topics"]]
    heavy = {"wonen", "verkeer_parkeren", "veiligheid_overlast"}  # as bench/generate.py weighs them
    slots = [i for i, t in enumerate(topics) for _ in range(3 if t in heavy else 1)]
    total = len(slots)
    con.execute("CREATE OR REPLACE TEMP TABLE bench_topics (topic_id VARCHAR, frac DOUBLE)")
    con.executemany(
        "INSERT INTO bench_topics VALUES (?, ?)",
        [(t, 1.35 * slots.count(i) / total) for i, t in enumerate(topics)],
    )
    model = load_model("citisens")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bench_profiles (idx INTEGER, profile_id VARCHAR, name VARCHAR, "
        "pop DOUBLE, assumption BOOLEAN)"
    )
    con.executemany(
        "INSERT INTO bench_profiles VALUES (?, ?, ?, ?, ?)",
        [
            (i, p.id, p.name, p.population_share.value, p.population_share.assumption)
            for i, p in enumerate(model.profiles)
        ],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE bench_advice (profile_id VARCHAR, aspect VARCHAR, advice VARCHAR, "
        "source VARCHAR, assumption BOOLEAN)"
    )
    con.executemany(
        "INSERT INTO bench_advice VALUES (?, ?, ?, ?, ?)",
        [(p.id, a.aspect, a.text, a.source, a.assumption) for p in model.profiles for a in p.advice],
    )
    texts = list(generate(TEXT_POOL, seed=7))
    con.execute("CREATE OR REPLACE TEMP TABLE bench_texts (k UBIGINT, text VARCHAR)")
    con.execute(
        "INSERT INTO bench_texts SELECT unnest($k), unnest($t)", {"k": list(range(len(texts))), "t": texts}
    )
    return {
        "nlp": nlp_version(),
        "model": model.id,
        "mver": evidence_for(model).version,  # as the default evidence stores post_signals
        "topics": topics,
        "evidence": evidence,
        "slots": slots,
        "signals": [s.id for s in model.signals],
    }


POSTS_SQL = """
INSERT INTO posts BY NAME
WITH g AS (
    SELECT i, CAST(floor(20 * pow(bu(i, 1), $size_skew)) AS INTEGER) AS m, b_kind(i) AS kind,
           CAST(floor(bu(i, 4) * $days) AS INTEGER) AS days_ago,
           CAST(floor(bu(i, 5) * 86400) AS INTEGER) AS second_of_day,
           bu(i, 6) AS u_channel, bu(i, 7) AS u_rel, bu(i, 8) AS u_author, bu(i, 9) AS u_deleted,
           bu(i, 10) AS u_dup, bu(i, 11) AS u_long
    FROM range($n) r(i)
), h AS (
    SELECT g.*, mu.slug, mu.subreddit, mu.feed, mu.authors,
           CASE WHEN kind = 'article' THEN mu.feed WHEN u_channel < 0.85 THEN 'r/' || mu.subreddit
                ELSE 'r/thenetherlands' END AS channel,
           kind <> 'article' AND u_deleted < 0.01 AS deleted,
           days_ago >= $retention AS purged,
           CAST($as_of AS TIMESTAMPTZ) + INTERVAL 86399 SECOND - to_days(days_ago)
               - to_seconds(second_of_day) AS created,
           CAST($as_of AS TIMESTAMPTZ) + INTERVAL 26 HOUR - to_days(days_ago) AS run_started,
           b_post_id(i) AS id
    FROM g JOIN bench_munis mu ON mu.idx = g.m
), r AS (
    SELECT h.*,
           CASE
               WHEN kind = 'article' THEN CASE WHEN u_rel < 0.08 THEN 'none'
                                               WHEN u_rel < 0.11 THEN 'named-first' ELSE 'named' END
               WHEN channel = 'r/thenetherlands' AND u_rel < 0.35 THEN 'none'
               WHEN kind = 'comment' THEN CASE WHEN u_rel < 0.6 THEN 'thread' ELSE 'named' END
               WHEN u_rel < 0.15 THEN 'channel'
               ELSE 'named' END AS relevance,
           NOT deleted AND u_dup < 0.02 AND i > 0 AS is_duplicate
    FROM h
)
SELECT id AS post_id,
       CASE WHEN kind = 'article' THEN 'rss' ELSE 'reddit' END AS source,
       CASE WHEN kind = 'article' THEN 'rss:' || slug || ':' || feed ELSE 'reddit:' || slug END AS source_key,
       kind, channel, created AS created_utc,
       CASE WHEN purged OR deleted OR kind = 'comment' THEN NULL
            ELSE left(split_part(t1.text, '.', 1), 120) END AS title,
       CASE WHEN purged OR deleted THEN NULL
            WHEN kind = 'article' THEN t1.text || chr(10) || t2.text || chr(10) || t3.text
            WHEN u_long < 0.4 THEN t1.text || ' ' || t2.text
            ELSE t1.text END AS text,
       CASE WHEN kind = 'article' THEN 'https://' || slug || '.example.org/artikel/' || i
            ELSE 'https://www.reddit.com/r/' || subreddit || '/comments/' || substr(id, 11) END AS url,
       CASE WHEN kind = 'comment'
            THEN printf('reddit:t3_%08x', ((i // 8) * 2654435761) % 4294967296) END AS parent_id,
       CASE WHEN kind = 'comment' THEN printf('reddit:t3_%08x', ((i // 8) * 2654435761) % 4294967296)
            WHEN kind = 'post' THEN id END AS thread_id,
       CASE WHEN kind = 'article' OR deleted THEN NULL
            ELSE substr(md5(slug || ':' || CAST(floor(authors * pow(u_author, $author_skew)) AS BIGINT)),
                        1, 24) END AS author_key,
       CASE WHEN relevance = 'none' THEN NULL ELSE slug END AS municipality_id,
       relevance,
       substr(md5(id), 1, 32) AS content_hash,
       CASE WHEN is_duplicate THEN b_post_id(greatest(i - 1 - hash(i, 12) % 5000, 0)) END AS duplicate_of,
       CASE WHEN is_duplicate THEN CASE WHEN u_dup < 0.012 THEN 'exact' ELSE 'near' END END AS duplicate_kind,
       deleted AS is_deleted,
       $days - days_ago AS first_run_id,
       run_started + INTERVAL 1 MINUTE AS stored_at,
       false AS text_truncated,
       CASE WHEN bu(i, 13) < 0.03 THEN 1 ELSE 0 END AS pii_replaced,
       CASE WHEN purged THEN run_started + to_days($retention) END AS text_purged_at
FROM r
JOIN bench_texts t1 ON t1.k = hash(i, 20) % $pool
JOIN bench_texts t2 ON t2.k = hash(i, 21) % $pool
JOIN bench_texts t3 ON t3.k = hash(i, 22) % $pool
ORDER BY first_run_id, created_utc  -- each nightly run appends the posts of its day
"""

# What warehouse/enrich.py writes: one row per kept post (municipality, not a duplicate, not deleted).
ENRICHMENT_SQL = """
INSERT INTO enrichment
WITH p AS (
    SELECT post_id, content_hash, source, stored_at, hash(post_id) AS ph
    FROM posts WHERE municipality_id IS NOT NULL AND duplicate_of IS NULL AND NOT is_deleted
), l AS (
    SELECT p.*, CASE WHEN source = 'rss' OR bu(ph, 1) < 0.93 THEN 'nl' WHEN bu(ph, 1) < 0.98 THEN 'en'
                     ELSE 'und' END AS language,
           greatest(-1.0, least(1.0, round(((bu(ph, 2) + bu(ph, 3) + bu(ph, 4)) / 1.5 - 1.0) * 1.4 - 0.05,
                                           4))) AS raw_score
    FROM p
)
SELECT post_id, $nlp, content_hash, language,
       CASE WHEN language <> 'nl' THEN 'neutral' WHEN raw_score > 0.1 THEN 'positive'
            WHEN raw_score < -0.1 THEN 'negative' ELSE 'neutral' END,
       CASE WHEN language = 'nl' THEN raw_score ELSE 0.0 END,
       CASE WHEN bu(ph, 5) < 0.03 THEN 'distrust' WHEN bu(ph, 5) < 0.04 THEN 'trust' ELSE 'neutral' END,
       CAST(8 + hash(ph, 6) % 150 AS INTEGER),
       stored_at + INTERVAL 4 MINUTE
FROM l
"""

# 0 to 3 distinct topics per enriched post (15/45/30/10 %: 1.35 on average), skewed like generate.py.
POST_TOPICS_SQL = """
INSERT INTO post_topics
WITH e AS (
    SELECT post_id, nlp_version, hash(post_id) AS ph FROM enrichment
), k AS (
    SELECT e.*, CASE WHEN bu(ph, 20) < 0.15 THEN 0 WHEN bu(ph, 20) < 0.60 THEN 1 WHEN bu(ph, 20) < 0.90 THEN 2
                     ELSE 3 END AS n_topics,
           $slots[CAST(hash(ph, 21) % len($slots) AS INTEGER) + 1] AS base
    FROM e
)
SELECT post_id, nlp_version, $topics[(base + j * 5) % 18 + 1], 0.25 * (1 + hash(ph, 30 + j) % 4),
       $evidence[(base + j * 5) % 18 + 1]
FROM k, range(3) r(j)
WHERE j < n_topics
"""

# What warehouse/enrich.py writes for Reddit posts with an author: the signals that fired, often none.
POST_SIGNALS_SQL = """
INSERT INTO post_signals
WITH s AS (
    SELECT e.post_id, e.language, hash(e.post_id) AS ph
    FROM enrichment e JOIN posts p USING (post_id)
    WHERE p.source = 'reddit' AND p.author_key IS NOT NULL
)
SELECT post_id, $model, $mver,
       CASE WHEN language <> 'nl' THEN []::VARCHAR[]
            ELSE list_slice($signals || $signals, CAST(hash(ph, 41) % len($signals) AS INTEGER) + 1,
                            CAST(hash(ph, 41) % len($signals) AS INTEGER)
                            + CASE WHEN bu(ph, 40) < 0.43 THEN 0 WHEN bu(ph, 40) < 0.81 THEN 1
                                   WHEN bu(ph, 40) < 0.96 THEN 2 ELSE 3 END) END
FROM s
"""

RUNS_SQL = """
INSERT INTO runs (run_id, started_at, ended_at, status, mode, posts_new, posts_enriched, estimates, error,
                  as_of, nlp_version)
WITH d AS (
    SELECT d AS run_id, CAST($as_of AS DATE) - CAST($days - d AS INTEGER) AS as_of
    FROM range(1, $days + 1) r(d)
), new AS (
    SELECT first_run_id, count(*) AS n FROM posts GROUP BY ALL
)
SELECT d.run_id, CAST(d.as_of AS TIMESTAMPTZ) + INTERVAL 26 HOUR,
       CAST(d.as_of AS TIMESTAMPTZ) + INTERVAL 26 HOUR
           + to_seconds(CAST(60 + hash(d.run_id, 1) % 900 AS BIGINT)),
       CASE WHEN bu(d.run_id, 2) < 0.03 THEN 'partial' ELSE 'ok' END, 'live',
       coalesce(new.n, 0), CAST(coalesce(new.n, 0) * 0.9 AS INTEGER), 20 * 21 * 16, NULL, d.as_of, $nlp
FROM d LEFT JOIN new ON new.first_run_id = d.run_id
"""

RUN_SOURCES_SQL = """
INSERT INTO run_sources
WITH keys AS (
    SELECT 'reddit:' || slug AS source_key FROM bench_munis
    UNION ALL SELECT 'rss:' || slug || ':' || feed FROM bench_munis
), counts AS (
    SELECT first_run_id, source_key, count(*) AS n, count(*) FILTER (WHERE duplicate_of IS NOT NULL) AS dup
    FROM posts GROUP BY ALL
), g AS (
    SELECT r.d AS run_id, k.source_key, bu(hash(k.source_key), r.d) < 0.02 AS failed,
           coalesce(c.n, 0) AS n, coalesce(c.dup, 0) AS dup
    FROM range(1, $days + 1) r(d) CROSS JOIN keys k
    LEFT JOIN counts c ON c.first_run_id = r.d AND c.source_key = k.source_key
)
SELECT run_id, source_key, CASE WHEN failed THEN 'failed' ELSE 'ok' END,
       CASE WHEN failed THEN 0 ELSE CAST(n * 1.3 AS INTEGER) END, CASE WHEN failed THEN 0 ELSE n END,
       CASE WHEN failed THEN 0 ELSE dup END, 0.2 + (hash(source_key, run_id) % 30000) / 1000.0,
       CASE WHEN failed THEN 'HTTP 503 Service Unavailable; gave up after 4 retries' END,
       []::VARCHAR[], 0, 0
FROM g
"""

MUNICIPALITIES_SQL = """
INSERT INTO municipalities
SELECT slug, name, cbs, 'citisens', NULL, CAST($as_of AS TIMESTAMPTZ) + INTERVAL 26 HOUR FROM bench_munis
"""

# One set of groups per nightly run (as store_estimates keeps every period): all, per topic, per channel;
# 8 profiles x (emq primary, pcc beside it). Groups under 10 voices are suppressed without shares.
SHARE_ESTIMATES_SQL = """
INSERT INTO share_estimates
WITH nights AS (
    SELECT d AS run_id, CAST($as_of AS DATE) - CAST($days - d AS INTEGER) AS period_end
    FROM range($days - $nights + 1, $days + 1) r(d)
), groups AS (
    SELECT idx, slug, NULL::VARCHAR AS topic_id, NULL::VARCHAR AS channel, 1.0 AS frac FROM bench_munis
    UNION ALL SELECT idx, slug, t.topic_id, NULL, t.frac FROM bench_munis, bench_topics t
    UNION ALL SELECT idx, slug, NULL, 'r/' || subreddit, 0.85 FROM bench_munis
    UNION ALL SELECT idx, slug, NULL, 'r/thenetherlands', 0.15 FROM bench_munis
), g AS (
    SELECT n.run_id, n.period_end, n.period_end - CAST($period - 1 AS INTEGER) AS period_start, gr.slug,
           gr.topic_id, gr.channel,
           CAST(round(mu.voices90 * gr.frac * (0.9 + 0.2 * bu(n.run_id, gr.idx))) AS INTEGER) AS n_voices
    FROM nights n CROSS JOIN groups gr JOIN bench_munis mu ON mu.idx = gr.idx
), k AS (
    SELECT g.*, g.slug || '|' || g.period_start || '|' || g.period_end || '|' || coalesce(g.topic_id, '*')
                || '|' || coalesce(g.channel, '*') || '|citisens' AS group_key
    FROM g
), w AS (
    SELECT k.*, p.profile_id, p.name AS profile_name, p.pop, p.assumption, m.method, m.is_primary,
           p.pop * exp(3.0 * (bu(hash(k.group_key), p.idx) - 0.5)) AS weight
    FROM k CROSS JOIN bench_profiles p
    CROSS JOIN (VALUES ('emq', true), ('pcc', false)) m(method, is_primary)
), s AS (
    SELECT w.*, weight / sum(weight) OVER (PARTITION BY group_key, method) AS emq_share,
           bu(hash(group_key, profile_id), 7) AS u
    FROM w
), v AS (
    SELECT s.*, CASE WHEN method = 'emq' THEN emq_share ELSE 0.5 * emq_share + 0.5 * pop END AS share,
           n_voices < 10 AS suppressed
    FROM s
), i AS (
    SELECT v.*, share * (0.55 + 0.3 * u) AS lower, least(1.0, share * (1.3 + 0.6 * u) + 0.01) AS upper FROM v
)
SELECT group_key, run_id, slug, period_start, period_end, topic_id, channel, 'citisens', profile_id,
       profile_name, method, is_primary, n_voices, CAST(round(n_voices * 0.6) AS INTEGER), pop, assumption,
       CASE WHEN NOT suppressed THEN share END, CASE WHEN NOT suppressed THEN lower END,
       CASE WHEN NOT suppressed THEN upper END, CASE WHEN NOT suppressed THEN share / pop END,
       CASE WHEN NOT suppressed THEN lower / pop END, CASE WHEN NOT suppressed THEN upper / pop END,
       CASE WHEN suppressed THEN 'suppressed' WHEN upper / pop < 0.5 THEN 'absent'
            WHEN upper / pop < 1.0 THEN 'under' WHEN lower / pop > 1.0 THEN 'over' ELSE 'proportional' END
FROM i
ORDER BY run_id, group_key, method, profile_id  -- each nightly run appends its groups
"""

ESTIMATE_SIGNALS_SQL = """
INSERT INTO estimate_signals
SELECT g.group_key, s.signal_id, CAST(round(g.n_voices * 0.4 * bu(hash(g.group_key), s.idx)) AS INTEGER)
FROM (SELECT DISTINCT group_key, n_voices FROM share_estimates WHERE status <> 'suppressed') g
CROSS JOIN (SELECT unnest($signals) AS signal_id, generate_subscripts($signals, 1) AS idx) s
"""

GAP_ADVICE_SQL = """
INSERT INTO gap_advice
SELECT s.group_key, s.profile_id, a.aspect, a.advice, a.source, a.assumption
FROM share_estimates s JOIN bench_advice a USING (profile_id)
WHERE s.is_primary AND s.status IN ('absent', 'under')
"""


def build(path: Path, n: int, days: int, nights: int) -> list[Timing]:
    """A fresh warehouse of ``n`` posts; one timing per table (rows written, seconds)."""
    from warehouse.db import connect

    path.unlink(missing_ok=True)
    timings = []
    started = time.perf_counter()
    con = connect(path)
    timings.append(Timing("build: connect + migrations", [time.perf_counter() - started]))
    started = time.perf_counter()
    p = _setup_helpers(con, n, days)
    timings.append(Timing("build: lookup tables, text pool", [time.perf_counter() - started]))
    common = {"as_of": AS_OF, "days": days}
    steps: list[tuple[str, str, dict[str, Any]]] = [
        (
            "posts",
            POSTS_SQL,
            {
                **common,
                "n": n,
                "size_skew": SIZE_SKEW,
                "author_skew": AUTHOR_SKEW,
                "retention": RETENTION_DAYS,
                "pool": TEXT_POOL,
            },
        ),
        ("enrichment", ENRICHMENT_SQL, {"nlp": p["nlp"]}),
        (
            "post_topics",
            POST_TOPICS_SQL,
            {"slots": p["slots"], "topics": p["topics"], "evidence": p["evidence"]},
        ),
        ("post_signals", POST_SIGNALS_SQL, {"model": p["model"], "mver": p["mver"], "signals": p["signals"]}),
        ("runs", RUNS_SQL, {**common, "nlp": p["nlp"]}),
        ("run_sources", RUN_SOURCES_SQL, {"days": days}),
        ("municipalities", MUNICIPALITIES_SQL, {"as_of": AS_OF}),
        ("share_estimates", SHARE_ESTIMATES_SQL, {**common, "nights": nights, "period": PERIOD_DAYS}),
        ("estimate_signals", ESTIMATE_SIGNALS_SQL, {"signals": p["signals"]}),
        ("gap_advice", GAP_ADVICE_SQL, {}),
    ]
    for table, sql, params in steps:
        started = time.perf_counter()
        con.execute(sql, params)
        elapsed = time.perf_counter() - started
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        timings.append(Timing(f"build: {table}", [elapsed], rows=rows))
    started = time.perf_counter()
    con.execute("CHECKPOINT")
    timings.append(Timing("build: checkpoint", [time.perf_counter() - started]))
    con.close()
    return timings


def describe(con: duckdb.DuckDBPyConnection) -> list[str]:
    """A few figures that show the data has the intended shape."""
    q = con.execute
    lines = []
    total, kept, reddit, comments, articles, none, dup, deleted, purged = q(
        "SELECT count(*), count(*) FILTER (WHERE municipality_id IS NOT NULL AND duplicate_of IS NULL "
        "AND NOT is_deleted), count(*) FILTER (WHERE source = 'reddit'), "
        "count(*) FILTER (WHERE kind = 'comment'), "
        "count(*) FILTER (WHERE kind = 'article'), count(*) FILTER (WHERE municipality_id IS NULL), "
        "count(*) FILTER (WHERE duplicate_of IS NOT NULL), count(*) FILTER (WHERE is_deleted), "
        "count(*) FILTER (WHERE text_purged_at IS NOT NULL) FROM posts"
    ).fetchone()
    lines.append(
        f"posts {total:,}: reddit {reddit / total:.0%} (comments {comments / total:.0%}), articles "
        f"{articles / total:.0%}; no municipality {none / total:.0%}, duplicates {dup / total:.1%}, deleted "
        f"{deleted / total:.1%}, text purged (older than {RETENTION_DAYS} days) {purged / total:.0%}; "
        f"enriched {kept:,}"
    )
    authors, top1 = q(
        "WITH a AS (SELECT author_key, count(*) AS n FROM posts WHERE author_key IS NOT NULL GROUP BY 1) "
        "SELECT count(*), (SELECT sum(n) FROM (SELECT n FROM a ORDER BY n DESC LIMIT greatest(1, "
        "(SELECT count(*) FROM a) // 100))) / sum(n) FROM a"
    ).fetchone()
    lines.append(
        f"authors {authors:,} (a mean of {reddit / max(authors, 1):.1f} posts; top 1% write {top1:.0%})"
    )
    per_post, topics_used = q(
        "SELECT count(*) / (SELECT count(*) FROM enrichment), count(DISTINCT topic_id) FROM post_topics"
    ).fetchone()
    lines.append(f"topics per enriched post {per_post:.2f} over {topics_used} topics")
    largest, share = q(
        "SELECT municipality_id, count(*) / sum(count(*)) OVER () FROM posts "
        "WHERE municipality_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    lines.append(f"largest municipality {largest} with {share:.0%} of the posts that concern one")
    groups, nights = q(
        "SELECT count(DISTINCT group_key), count(DISTINCT run_id) FROM share_estimates"
    ).fetchone()
    lines.append(f"share_estimates: {groups:,} groups over {nights} nightly periods")
    return lines


# ---- Measuring. ----


def measure(path: Path, times: int, publish_times: int, explain: bool) -> tuple[list[Timing], list[str]]:
    import warehouse.report as report_module
    from profiles.gap import Thresholds
    from warehouse.db import connect
    from warehouse.estimates import EstimateSettings, period_for
    from warehouse.publish import write_export, write_snapshot
    from warehouse.report import ReportRequest, render_report

    con = connect(path)  # writable, as the nightly run's report and publish stages use it
    notes = describe(con)
    largest = con.execute(
        "SELECT municipality_id FROM posts WHERE municipality_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()[0]
    nlp = con.execute("SELECT nlp_version FROM v_current_nlp").fetchone()[0]
    as_of, days = con.execute(REPORT_SQL["latest period"]).fetchone()
    start, end = period_for(as_of, days)
    params: dict[str, Any] = {
        "m": largest,
        "ms": [largest],
        "start": start,
        "end": end,
        "nlp": nlp,
        "model": "citisens",
    }
    params["enriched_from"] = con.execute(*_used(REPORT_SQL["enriched_at bound"], params)).fetchone()[0]
    con.execute(*_used(REPORT_SQL["period topics (temp table)"], params))
    topics = con.execute(*_used(REPORT_SQL["topics + sentiment"], params)).fetchall()
    params["top"] = [r[0] for r in topics[: report_sql.TOP_TOPICS]]
    timings = [repeat(BASELINE, lambda: con.execute(BASELINE_SQL).fetchall(), times)]
    statements: dict[str, tuple[str, dict[str, Any]]] = {
        f"reach gap, {largest}": _used(REACH_GAP_SQL, params),
        # `betrokken gap` with no --municipality, --topic or --period.
        "gap, all municipalities": reach_gap_statement(),
    }
    sql, used = statements[f"reach gap, {largest}"]
    timings.append(repeat(f"reach gap, {largest}", lambda: con.execute(sql, used).fetchall(), times))
    timings.append(repeat("gap, all municipalities", lambda: reach_gap(con), times))

    # render_report for one municipality; the stored estimates are used unless compute_estimates runs.
    calls: list[int] = []
    original = report_module.compute_estimates

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    report_module.compute_estimates = counting
    settings = EstimateSettings(PERIOD_DAYS, "bayes", 1000, 0.9, 0, Thresholds())
    try:
        timing = repeat(
            f"render_report, {largest}",
            lambda: render_report(con, ReportRequest(municipality=largest), settings),
            times,
        )
    finally:
        report_module.compute_estimates = original
    # The summary always checks its findings over the other comparison period (30 or 90 days),
    # which costs one in-memory estimate per municipality unless that period is stored too.
    runs_per_report = len(calls) // max(1, times)
    timing.note = f"compute_estimates per report: {runs_per_report} (period not stored, or the comparison)"
    timings.append(timing)
    report_statements = {name: _used(sql, params) for name, sql in REPORT_SQL.items()}
    for name, (sql, used) in report_statements.items():
        timings.append(
            repeat(
                f"  report SQL: {name}", lambda sql=sql, used=used: con.execute(sql, used).fetchall(), times
            )
        )
    sql_total = sum(t.median for t in timings if t.operation.startswith("  report SQL"))
    notes.append(
        f"render_report median {timing.median:.3f} s, of which its SQL statements above take about "
        f"{sql_total:.3f} s; the rest is Python, altair/vl-convert charts and the template"
    )

    researcher = {
        "v_topic_daily count(*)": (TOPIC_DAILY_SQL, {}),
        "v_sentiment_daily by month": (SENTIMENT_MONTHLY_SQL, {}),
    }
    for name, (sql, used) in researcher.items():
        timings.append(repeat(name, lambda sql=sql, used=used: con.execute(sql, used).fetchall(), times))
    snapshot = path.with_name(path.stem + ".snapshot.duckdb")
    export = path.parent / "export"
    timings.append(repeat("write_snapshot", lambda: write_snapshot(con, snapshot), publish_times))
    timings.append(repeat("write_export, full", lambda: write_export(con, export, full=True), publish_times))
    timings.append(repeat("write_export, nothing changed", lambda: write_export(con, export), publish_times))
    # A night's changes, rolled back afterwards: the purge of one day's texts (as the nightly purge
    # does) and items of the newest day deleted at the source (as the store stage marks them).
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "UPDATE posts SET text = NULL, title = NULL, text_purged_at = now() "
            "WHERE CAST(created_utc AS DATE) = $day",
            {"day": end - timedelta(days=RETENTION_DAYS - 10)},
        )
        con.execute(
            "UPDATE posts SET is_deleted = true, text = NULL, title = NULL, author_key = NULL "
            "WHERE CAST(created_utc AS DATE) = $day AND hash(post_id) % 20 = 0",
            {"day": end},
        )
        started = time.perf_counter()
        written = write_export(con, export)
        note = "partitions rewritten: " + ", ".join(f"{k} {v}" for k, v in written.items())
        timings.append(
            Timing("write_export, after a night's changes", [time.perf_counter() - started], note=note)
        )
    finally:
        con.execute("ROLLBACK")
    notes.append(f"snapshot {size_mb(snapshot):,.1f} MiB, Parquet export {size_mb(export):,.1f} MiB")
    if explain:
        for name, (sql, used) in {**statements, **report_statements, **researcher}.items():
            print(f"\n---- EXPLAIN ANALYZE {name}")
            for _, plan in con.execute("EXPLAIN ANALYZE " + sql, used).fetchall():
                print(plan)
    con.close()
    return timings, notes


def _used(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The statement with only the parameters it names (DuckDB rejects unused ones)."""
    return sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, required=True, help="posts in the warehouse")
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each query")
    parser.add_argument("--keep", type=Path, help="write the warehouse here and keep it")
    parser.add_argument("--reuse", type=Path, help="measure this warehouse (built with --keep) as it is")
    parser.add_argument("--days", type=int, default=365, help="days of posts and nightly runs")
    parser.add_argument("--nights", type=int, help="nightly estimate periods kept (default: --days)")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the SQL")
    parser.add_argument(
        "--publish-repeat",
        type=int,
        help="repetitions of write_snapshot and write_export (default: --repeat)",
    )
    args = parser.parse_args()
    nights = min(args.nights or args.days, args.days)
    print(machine_line())
    print(code_line())
    print(
        f"warehouse of {args.rows:,} posts over {args.days} days, {nights} nightly estimate periods, "
        f"{len(MUNICIPALITIES)} municipalities; queries repeated {args.repeat} times"
    )
    tmp = None
    if args.reuse:
        path = args.reuse.resolve()
        if not path.exists():
            parser.error(f"--reuse {path}: no warehouse there")
    elif args.keep:
        path = args.keep.resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="betrokken-bench-warehouse-"))
        path = tmp / "warehouse.duckdb"
    try:
        timings = []
        if not args.reuse:
            started = time.perf_counter()
            timings = build(path, args.rows, args.days, nights)
            build_s = time.perf_counter() - started
            timings.append(Timing("build: total", [build_s], rows=args.rows, note="rows/s = posts/s"))
            wal = path.with_name(path.name + ".wal")
            print(
                f"built in {build_s:.1f} s ({args.rows / build_s:,.0f} posts/s overall); file "
                f"{size_mb(path):,.1f} MiB{f' + WAL {size_mb(wal):,.1f} MiB' if wal.exists() else ''}; "
                f"peak RSS so far {maxrss_mb():,.0f} MiB"
            )
        else:
            print(f"reusing {path} ({size_mb(path):,.1f} MiB), built earlier; not rebuilt")
        measured_from = time.perf_counter()
        measured, notes = measure(path, args.repeat, args.publish_repeat or args.repeat, args.explain)
        print()
        print_table(timings + measured)
        print()
        for note in notes:
            print(note)
        print(
            f"warehouse file {size_mb(path):,.1f} MiB at {path if tmp is None else '(temporary)'}; "
            "peak RSS of "
            f"this process {maxrss_mb():,.0f} MiB; measuring took {time.perf_counter() - measured_from:.0f} s"
        )
        print(machine_line().replace("machine:", "machine at the end:"))
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
