-- 002: the researchers' views. Stable names and columns; no view exposes an author key.

CREATE VIEW v_posts AS
SELECT post_id, source, source_key, kind, channel, created_utc, title, text, url, parent_id, thread_id,
       municipality_id, relevance, duplicate_of, is_deleted
FROM posts;

CREATE VIEW v_enrichment AS
SELECT e.post_id, p.municipality_id, p.source, p.channel, p.created_utc, e.nlp_version, e.language,
       e.sentiment, e.sentiment_score, e.trust,
       coalesce(list(t.topic_id ORDER BY t.score DESC, t.topic_id) FILTER (WHERE t.topic_id IS NOT NULL), []) AS topics
FROM enrichment e
JOIN posts p USING (post_id)
LEFT JOIN post_topics t ON t.post_id = e.post_id AND t.nlp_version = e.nlp_version
GROUP BY ALL;

CREATE VIEW v_topic_daily AS
SELECT p.municipality_id, CAST(p.created_utc AS DATE) AS day, t.topic_id, p.source,
       count(*) AS n_posts
FROM post_topics t
JOIN posts p USING (post_id)
WHERE p.duplicate_of IS NULL
GROUP BY ALL;

CREATE VIEW v_sentiment_daily AS
SELECT p.municipality_id, CAST(p.created_utc AS DATE) AS day, t.topic_id, p.source,
       count(*) AS n_posts,
       avg(e.sentiment_score) AS mean_score,
       count(*) FILTER (WHERE e.sentiment = 'negative') AS n_negative,
       count(*) FILTER (WHERE e.sentiment = 'neutral') AS n_neutral,
       count(*) FILTER (WHERE e.sentiment = 'positive') AS n_positive
FROM enrichment e
JOIN posts p USING (post_id)
JOIN post_topics t ON t.post_id = e.post_id AND t.nlp_version = e.nlp_version
WHERE p.duplicate_of IS NULL
GROUP BY ALL;

CREATE VIEW v_reach_gap AS
SELECT municipality_id AS municipality, period_start, period_end, topic_id AS topic, channel,
       profile_model, profile_id, profile_name, n_voices, population_share,
       population_share_is_assumption, online_share, online_lower, online_upper,
       representation_index, ri_lower, ri_upper, status, method
FROM share_estimates
WHERE is_primary;
