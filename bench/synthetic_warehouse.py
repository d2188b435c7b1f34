"""A synthetic warehouse of N enriched posts, built quickly with SQL, not through the NLP.

A fresh DuckDB file from ``warehouse.db.connect`` (so the real migrations, keys and views), then
``INSERT ... SELECT ... FROM range(N)`` with hash-based pseudo-random values shaped like what the nightly
flow writes: 20 municipalities of skewed size, Reddit (submissions and comments, per-municipality
subreddit and r/thenetherlands) and one local news feed each, a year of days, text purged after 90
days, pseudonymous authors with a long tail, about 1.35 topics per post over the 18 taxonomy topics,
lexicon-style sentiment and trust, profile signals and word evidence per Reddit post, one nightly run
per day with its source records, and a year of nightly estimates with their advice (each night writes
a new 90-day period, as ``store_estimates`` does). Rows are appended day by day, as the nightly runs
append them, so that DuckDB's per-row-group min/max statistics look as they would. ``post_minhash``
and ``post_lsh`` stay empty (no measured query reads them).

Every table is filled by an INSERT that names its columns, so a migration that adds a column leaves
it NULL (or its default) here instead of breaking the build; fill such a column when a measured query
reads it. ``bench/warehouse_queries.py`` builds with ``build`` and times the queries users run.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import yaml

from bench.machine import ROOT

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
        "profiles": len(model.profiles),
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
INSERT INTO enrichment (post_id, nlp_version, content_hash, language, sentiment, sentiment_score, trust,
                        n_tokens, enriched_at)
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
INSERT INTO post_topics (post_id, nlp_version, topic_id, score, evidence)
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

# What warehouse/enrich.py writes for Reddit posts with an author: the signals that fired, often none,
# and for Dutch ones the words' evidence under the shipped fit (migration 011): one idf-weighted score
# per profile, about N(0, 30) as the generated texts score, and the summed squared idf, about 500 to
# 5,500; NULL for the others.
POST_SIGNALS_SQL = """
INSERT INTO post_signals (post_id, profile_model, model_version, signal_ids, text_score, text_weight)
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
                                   WHEN bu(ph, 40) < 0.96 THEN 2 ELSE 3 END) END,
       CASE WHEN language = 'nl' THEN list_transform(range($profiles), lambda k: CAST(
                60 * (bu(ph, 50 + k) + bu(ph, 60 + k) + bu(ph, 70 + k) - 1.5) AS FLOAT)) END,
       CASE WHEN language = 'nl' THEN 500 + 5000 * pow(bu(ph, 42), 1.5) END
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
INSERT INTO run_sources (run_id, source_key, status, fetched, new, duplicate, duration_s, reason, warnings,
                         skipped_empty, truncated)
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
INSERT INTO municipalities (municipality_id, name, cbs_code, profile_model, population_shares, updated_at)
SELECT slug, name, cbs, 'citisens', NULL, CAST($as_of AS TIMESTAMPTZ) + INTERVAL 26 HOUR FROM bench_munis
"""

# One set of groups per nightly run (as store_estimates keeps every period): all, per topic, per channel;
# 8 profiles x (bayes primary, the default method, and pcc beside it, as warehouse.estimates.METHODS).
# Groups under 10 voices are suppressed without shares (status_reason 'few_voices', migration 009).
SHARE_ESTIMATES_SQL = """
INSERT INTO share_estimates (group_key, run_id, municipality_id, period_start, period_end, topic_id, channel,
                             profile_model, profile_id, profile_name, method, is_primary, n_voices,
                             n_voices_with_evidence, population_share, population_share_is_assumption,
                             online_share, online_lower, online_upper, representation_index, ri_lower,
                             ri_upper, status, status_reason)
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
    CROSS JOIN (VALUES ('bayes', true), ('pcc', false)) m(method, is_primary)
), s AS (
    SELECT w.*, weight / sum(weight) OVER (PARTITION BY group_key, method) AS primary_share,
           bu(hash(group_key, profile_id), 7) AS u
    FROM w
), v AS (
    SELECT s.*, CASE WHEN is_primary THEN primary_share ELSE 0.5 * primary_share + 0.5 * pop END AS share,
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
            WHEN upper / pop < 1.0 THEN 'under' WHEN lower / pop > 1.0 THEN 'over' ELSE 'proportional' END,
       CASE WHEN suppressed THEN 'few_voices' END
FROM i
ORDER BY run_id, group_key, method, profile_id  -- each nightly run appends its groups
"""

ESTIMATE_SIGNALS_SQL = """
INSERT INTO estimate_signals (group_key, signal_id, n_voices)
SELECT g.group_key, s.signal_id, CAST(round(g.n_voices * 0.4 * bu(hash(g.group_key), s.idx)) AS INTEGER)
FROM (SELECT DISTINCT group_key, n_voices FROM share_estimates WHERE status <> 'suppressed') g
CROSS JOIN (SELECT unnest($signals) AS signal_id, generate_subscripts($signals, 1) AS idx) s
"""

GAP_ADVICE_SQL = """
INSERT INTO gap_advice (group_key, profile_id, aspect, advice, source, is_assumption)
SELECT s.group_key, s.profile_id, a.aspect, a.advice, a.source, a.assumption
FROM share_estimates s JOIN bench_advice a USING (profile_id)
WHERE s.is_primary AND s.status IN ('absent', 'under')
"""


def build(path: Path, n: int, days: int, nights: int) -> list[tuple[str, float, int | None]]:
    """A fresh warehouse of ``n`` posts; per step (setup, then one per table) its name, seconds and
    rows written."""
    from warehouse.db import connect

    path.unlink(missing_ok=True)
    timings: list[tuple[str, float, int | None]] = []
    started = time.perf_counter()
    con = connect(path)
    timings.append(("connect + migrations", time.perf_counter() - started, None))
    started = time.perf_counter()
    p = _setup_helpers(con, n, days)
    timings.append(("lookup tables, text pool", time.perf_counter() - started, None))
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
        (
            "post_signals",
            POST_SIGNALS_SQL,
            {"model": p["model"], "mver": p["mver"], "signals": p["signals"], "profiles": p["profiles"]},
        ),
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
        timings.append((table, elapsed, rows))
    started = time.perf_counter()
    con.execute("CHECKPOINT")
    timings.append(("checkpoint", time.perf_counter() - started, None))
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
