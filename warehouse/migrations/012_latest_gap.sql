-- 012: the post that counts defined once, the reach gap defined once (for stored estimates and for
-- estimates a report computes in memory), and the latest gap with its advice, which the CLI, the
-- demo and the bench read.
--
-- counted_posts(first_day, last_day): the posts that count in a period (NULL bounds: no bound),
-- news articles and residents' posts alike: about a configured municipality, not a duplicate of
-- another item, not deleted at the source. The enrich stage enriches these, the report counts
-- them, and voice_posts (migration 010, redefined here on top of this) narrows them to residents.
-- Dates are UTC days (every connection of the tool sets TimeZone = 'UTC').
CREATE OR REPLACE MACRO counted_posts(first_day, last_day) AS TABLE
SELECT p.*, CAST(p.created_utc AS DATE) AS day
FROM posts p
WHERE p.municipality_id IS NOT NULL AND p.duplicate_of IS NULL AND NOT p.is_deleted
  AND (first_day IS NULL OR CAST(p.created_utc AS DATE) >= first_day)
  AND (last_day IS NULL OR CAST(p.created_utc AS DATE) <= last_day);

-- A resident's post, on any platform: not a news article (every news feed item is one, whatever
-- the source) and with an author key (never for articles, nor for items deleted at the source).
CREATE OR REPLACE MACRO is_residents(kind, author_key) AS kind <> 'article' AND author_key IS NOT NULL;

-- A voice's posts: the counted posts that are a resident's and enriched as Dutch under the given
-- NLP version. Same columns as in migration 010.
CREATE OR REPLACE MACRO voice_posts(nlp_version_of, first_day, last_day) AS TABLE
SELECT p.post_id, p.municipality_id, p.author_key, p.source, p.kind, p.channel, p.created_utc, p.day
FROM counted_posts(first_day, last_day) p
JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = nlp_version_of AND e.language = 'nl'
WHERE is_residents(p.kind, p.author_key);
--
-- reach_gap(name): the primary method's rows of a relation shaped as share_estimates (the table
-- itself, or a report's temporary table), under the names researchers use. v_reach_gap keeps every
-- column in its order (migrations 002 and 009).
CREATE OR REPLACE MACRO reach_gap(estimates) AS TABLE
SELECT municipality_id AS municipality, period_start, period_end, topic_id AS topic, channel,
       profile_model, profile_id, profile_name, n_voices, population_share,
       population_share_is_assumption, online_share, online_lower, online_upper,
       representation_index, ri_lower, ri_upper, status, method, n_voices_with_evidence, group_key,
       status_reason
FROM query_table(estimates)
WHERE is_primary;

CREATE OR REPLACE VIEW v_reach_gap AS
SELECT * FROM reach_gap('share_estimates');

-- advice_of(name): the advice of each (group, profile) of a relation shaped as gap_advice, as one
-- list with its source or assumption flag.
CREATE OR REPLACE MACRO advice_of(advice_rows) AS TABLE
SELECT group_key, profile_id,
       list({'aspect': aspect, 'text': advice, 'source': source, 'assumption': is_assumption}
            ORDER BY aspect, advice) AS advice
FROM query_table(advice_rows)
GROUP BY group_key, profile_id;

-- The latest reach gap of each municipality (the newest period it was estimated for, every period
-- length and group of it), each row with the advice for its profile (an empty list when the
-- profile is not absent or under-represented there). The advice is gathered for the latest groups
-- only: gathering all of it first made `betrokken gap` take seconds on a year of nightly periods.
CREATE OR REPLACE VIEW v_latest_gap AS
WITH latest AS (
    SELECT g.*
    FROM v_reach_gap g
    JOIN (SELECT municipality, max(period_end) AS period_end FROM v_reach_gap GROUP BY municipality) l
      ON l.municipality = g.municipality AND l.period_end = g.period_end
),
advice AS (
    SELECT * FROM advice_of('gap_advice') WHERE group_key IN (SELECT group_key FROM latest)
)
SELECT latest.*, coalesce(advice.advice, []) AS advice
FROM latest
LEFT JOIN advice ON advice.group_key = latest.group_key AND advice.profile_id = latest.profile_id;
