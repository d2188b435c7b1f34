"""What the report reads from the warehouse: its statements, in the order a report runs them."""

from __future__ import annotations

from typing import Any

import duckdb

from nlp.topics import MAIN_TOPIC_SCORE, TopicMatcher

HEADLINES_PER_TOPIC = 2
EXCERPT_CHARS = 160


class ReportError(Exception):
    """The warehouse holds nothing to report on (no run yet, or an unknown municipality)."""


# ---- The report's SQL. bench/warehouse_queries.py times these statements: what it times is what runs. ----

LATEST_PERIOD_SQL = (
    "SELECT period_end, date_diff('day', period_start, period_end) + 1 FROM share_estimates "
    "ORDER BY run_id DESC, period_end DESC LIMIT 1"
)
# The stored gap of one period, through the view researchers read (migration 012); the sensitivity
# column's rows of the same groups; the advice of the absent and under-represented profiles.
STORED_GAP_SQL = (
    "SELECT * FROM v_reach_gap WHERE municipality = $m AND period_start = $start "
    "AND period_end = $end AND profile_model = $model"
)
# ``{estimates}`` and ``{advice}``: the stored tables, or a report's temporary copies of estimates
# it computed in memory; the gap of both comes from the one macro that defines v_reach_gap.
GAP_OF_SQL = "SELECT * FROM reach_gap('{estimates}') WHERE municipality = $m"
COMPARED_SQL = (
    "SELECT * FROM {estimates} WHERE method = $method AND group_key IN (SELECT unnest($groups)) "
    "AND topic_id IS NULL AND channel IS NULL"
)
ADVICE_SQL = "SELECT * FROM advice_of('{advice}') WHERE group_key IN (SELECT unnest($groups))"
# Posts and channels per source; the voices are those of the warehouse's one definition (the
# voice_posts macro of migration 010), the same the estimate and the labelling loop count.
POSTS_BY_SOURCE_SQL = """
    WITH counted AS (
        SELECT source, count(DISTINCT author_key) AS n_voices
        FROM voice_posts($nlp, $start, $end) WHERE municipality_id = $m GROUP BY source
    )
    SELECT p.source, count(*) AS n_posts, coalesce(any_value(c.n_voices), 0) AS n_voices,
           count(DISTINCT p.channel) AS n_channels
    FROM counted_posts($start, $end) p LEFT JOIN counted c ON c.source = p.source
    WHERE p.municipality_id = $m GROUP BY p.source ORDER BY p.source"""
# The migration the report's statements need (the counted posts, voices and the reach gap, 010-012);
# a warehouse before it is migrated by the next nightly run.
VOICES_MIGRATION = 12
# A lower bound of enriched_at for the period's posts, so that the enrichment scan skips the row
# groups of older enrichments (DuckDB keeps min/max per row group). Sound because a post is only
# enriched after it was stored (enrich reads it from posts), so enriched_at >= stored_at; the day
# of slack covers a clock that was set back between the two.
ENRICHED_FROM_SQL = (
    "SELECT min(p.stored_at) - INTERVAL 1 DAY FROM counted_posts($start, $end) p "
    "WHERE p.municipality_id IN (SELECT unnest($ms))"
)
# One row per (post, topic) of the period for all municipalities of the report ($ms), with the post's
# sentiment (enriched = false: no enrichment row under this NLP version). post_topics and
# enrichment are scanned once per report instead of three times per municipality; the statements
# below read only this table (and posts for the headlines' text).
TOPIC_POSTS_SQL = """
    CREATE OR REPLACE TEMP TABLE report_topic_posts AS
    SELECT p.municipality_id, t.topic_id, p.source, p.created_utc,
           CASE WHEN p.source = 'rss' THEN p.post_id END AS post_id,
           e.sentiment, e.sentiment_score, e.post_id IS NOT NULL AS enriched
    FROM counted_posts($start, $end) p
    JOIN post_topics t ON t.post_id = p.post_id AND t.nlp_version = $nlp
    LEFT JOIN enrichment e
      ON e.post_id = p.post_id AND e.nlp_version = $nlp AND e.enriched_at >= $enriched_from
    WHERE p.municipality_id IN (SELECT unnest($ms))"""
TOPICS_SQL = """
    SELECT topic_id, count(*) AS n_posts, avg(sentiment_score) AS mean_score,
           count(*) FILTER (WHERE sentiment = 'negative') AS n_negative,
           count(*) FILTER (WHERE sentiment = 'neutral') AS n_neutral,
           count(*) FILTER (WHERE sentiment = 'positive') AS n_positive
    FROM report_topic_posts WHERE municipality_id = $m AND enriched
    GROUP BY ALL ORDER BY n_posts DESC, topic_id"""
WEEKLY_SQL = """
    SELECT topic_id, CAST(date_trunc('week', created_utc) AS DATE) AS week, count(*) AS n_posts,
           avg(sentiment_score) AS mean_score
    FROM report_topic_posts WHERE municipality_id = $m AND enriched AND list_contains($top, topic_id)
    GROUP BY ALL ORDER BY week, topic_id"""
# The newest news headlines per top topic. A headline goes under its best topic only (the highest
# score; on a tie, the topic with more words that are not weak, then the id), and only when that
# score reaches $min_score (nlp.topics.MAIN_TOPIC_SCORE): an article that mentions a tram and a park
# once each is filed under neither, not under both.
HEADLINES_SQL = f"""
    WITH best AS (
        SELECT t.post_id, t.topic_id, t.score
        FROM post_topics t
        WHERE t.nlp_version = $nlp AND t.post_id IN (
            SELECT post_id FROM report_topic_posts WHERE municipality_id = $m AND source = 'rss')
        QUALIFY row_number() OVER (
            PARTITION BY t.post_id
            ORDER BY t.score DESC, len(list_filter(t.evidence, lambda w: NOT list_contains($weak, w))) DESC,
                     t.topic_id) = 1
    )
    SELECT b.topic_id, p.channel, CAST(p.created_utc AS DATE) AS day,
           coalesce(p.title, left(p.text, {EXCERPT_CHARS})) AS excerpt
    FROM best b
    JOIN posts p ON p.post_id = b.post_id
    WHERE b.score >= $min_score AND list_contains($top, b.topic_id)
      AND coalesce(p.title, p.text) IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY b.topic_id ORDER BY p.created_utc DESC, p.post_id)
            <= {HEADLINES_PER_TOPIC}
    ORDER BY b.topic_id, day DESC"""
SOURCE_HEALTH_SQL = """
    SELECT rs.*,
           (SELECT max(p.created_utc) FROM posts p WHERE p.source_key = rs.source_key) AS newest_post
    FROM run_sources rs WHERE rs.run_id = (SELECT max(run_id) FROM run_sources) ORDER BY rs.source_key"""
# In the order a report runs them (the temporary table first).
REPORT_SQL = {
    "latest period": LATEST_PERIOD_SQL,
    "stored gap": STORED_GAP_SQL,
    "sensitivity rows": COMPARED_SQL.format(estimates="share_estimates"),
    "advice": ADVICE_SQL.format(advice="gap_advice"),
    "posts per source": POSTS_BY_SOURCE_SQL,
    "enriched_at bound": ENRICHED_FROM_SQL,
    "period topics (temp table)": TOPIC_POSTS_SQL,
    "topics + sentiment": TOPICS_SQL,
    "weekly per top topic": WEEKLY_SQL,
    "headlines": HEADLINES_SQL,
    "source health": SOURCE_HEALTH_SQL,
}


def headline_params(matcher: TopicMatcher) -> dict[str, Any]:
    """HEADLINES_SQL's $weak and $min_score: the taxonomy's weak words and the bar of a main topic."""
    return {"weak": matcher.weak, "min_score": MAIN_TOPIC_SCORE}


def records(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    used = {k: v for k, v in params.items() if f"${k}" in sql}  # DuckDB rejects unused parameters
    cursor = con.execute(sql, used)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
