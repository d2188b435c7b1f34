-- 006: what a report needs without the config file, a record of input hygiene, and researcher
-- views that count one NLP version only (the one the latest run used), so a model upgrade never
-- counts a post twice.

CREATE TABLE municipalities (
    municipality_id  VARCHAR PRIMARY KEY,
    name             VARCHAR NOT NULL,
    cbs_code         VARCHAR,
    profile_model    VARCHAR NOT NULL,
    population_shares JSON,                  -- the municipality's own shares, NULL = the model's
    updated_at       TIMESTAMPTZ NOT NULL
);

ALTER TABLE runs ADD COLUMN as_of DATE;
ALTER TABLE runs ADD COLUMN nlp_version VARCHAR;

ALTER TABLE run_sources ADD COLUMN skipped_empty INTEGER DEFAULT 0;
ALTER TABLE run_sources ADD COLUMN truncated INTEGER DEFAULT 0;

ALTER TABLE posts ADD COLUMN text_truncated BOOLEAN DEFAULT false;
ALTER TABLE posts ADD COLUMN pii_replaced INTEGER DEFAULT 0;
ALTER TABLE posts ADD COLUMN text_purged_at TIMESTAMPTZ;

CREATE OR REPLACE VIEW v_current_nlp AS
SELECT coalesce(
    (SELECT nlp_version FROM runs WHERE nlp_version IS NOT NULL ORDER BY run_id DESC LIMIT 1),
    (SELECT nlp_version FROM enrichment ORDER BY enriched_at DESC LIMIT 1)
) AS nlp_version;

CREATE OR REPLACE VIEW v_posts AS
SELECT post_id, source, source_key, kind, channel, created_utc, title, text, url, parent_id, thread_id,
       municipality_id, relevance, duplicate_of, duplicate_kind, is_deleted, text_truncated,
       pii_replaced, text_purged_at
FROM posts;

CREATE OR REPLACE VIEW v_enrichment AS
SELECT e.post_id, p.municipality_id, p.source, p.channel, p.created_utc, e.nlp_version, e.language,
       e.sentiment, e.sentiment_score, e.trust,
       coalesce(list(t.topic_id ORDER BY t.score DESC, t.topic_id) FILTER (WHERE t.topic_id IS NOT NULL), []) AS topics
FROM enrichment e
JOIN posts p USING (post_id)
LEFT JOIN post_topics t ON t.post_id = e.post_id AND t.nlp_version = e.nlp_version
WHERE e.nlp_version = (SELECT nlp_version FROM v_current_nlp)
GROUP BY ALL;

CREATE OR REPLACE VIEW v_topic_daily AS
SELECT p.municipality_id, CAST(p.created_utc AS DATE) AS day, t.topic_id, p.source,
       count(*) AS n_posts
FROM post_topics t
JOIN posts p USING (post_id)
WHERE p.duplicate_of IS NULL AND NOT p.is_deleted
  AND t.nlp_version = (SELECT nlp_version FROM v_current_nlp)
GROUP BY ALL;

CREATE OR REPLACE VIEW v_sentiment_daily AS
SELECT p.municipality_id, CAST(p.created_utc AS DATE) AS day, t.topic_id, p.source,
       count(*) AS n_posts,
       avg(e.sentiment_score) AS mean_score,
       count(*) FILTER (WHERE e.sentiment = 'negative') AS n_negative,
       count(*) FILTER (WHERE e.sentiment = 'neutral') AS n_neutral,
       count(*) FILTER (WHERE e.sentiment = 'positive') AS n_positive
FROM enrichment e
JOIN posts p USING (post_id)
JOIN post_topics t ON t.post_id = e.post_id AND t.nlp_version = e.nlp_version
WHERE p.duplicate_of IS NULL AND NOT p.is_deleted
  AND e.nlp_version = (SELECT nlp_version FROM v_current_nlp)
GROUP BY ALL;

-- Beside the contract columns of 005: how many voices carried any signal, and the key that joins
-- gap_advice and estimate_signals.
CREATE OR REPLACE VIEW v_reach_gap AS
SELECT municipality_id AS municipality, period_start, period_end, topic_id AS topic, channel,
       profile_model, profile_id, profile_name, n_voices, population_share,
       population_share_is_assumption, online_share, online_lower, online_upper,
       representation_index, ri_lower, ri_upper, status, method, n_voices_with_evidence, group_key
FROM share_estimates
WHERE is_primary;
