-- 010: one definition of a voice, used by the estimate, the labelling loop, the report and the CLI.
--
-- A voice is one pseudonymous author (author_key) in one municipality within a period, with at
-- least one post that counts. A post counts when it is a resident's: not a news article
-- (kind <> 'article'; every news feed item is an article, whatever the source), with an author
-- key (never for articles, nor for items deleted at the source), about a configured municipality,
-- not a duplicate, not deleted, and enriched as Dutch under the given NLP version. A policy topic
-- is not needed: a voice without one counts for the municipality and joins no topic group.
-- Dates are UTC days (every connection of the tool sets TimeZone = 'UTC').

-- The posts that count, of a period (NULL bounds: no bound).
CREATE OR REPLACE MACRO voice_posts(nlp_version_of, first_day, last_day) AS TABLE
SELECT p.post_id, p.municipality_id, p.author_key, p.source, p.kind, p.channel, p.created_utc,
       CAST(p.created_utc AS DATE) AS day
FROM posts p
JOIN enrichment e ON e.post_id = p.post_id AND e.nlp_version = nlp_version_of AND e.language = 'nl'
WHERE p.kind <> 'article' AND p.author_key IS NOT NULL AND p.municipality_id IS NOT NULL
  AND p.duplicate_of IS NULL AND NOT p.is_deleted
  AND (first_day IS NULL OR CAST(p.created_utc AS DATE) >= first_day)
  AND (last_day IS NULL OR CAST(p.created_utc AS DATE) <= last_day);

-- One row per voice of a period: the municipality, the author key and how many posts counted.
CREATE OR REPLACE MACRO voices(nlp_version_of, first_day, last_day) AS TABLE
SELECT municipality_id, author_key, count(*) AS n_posts
FROM voice_posts(nlp_version_of, first_day, last_day)
GROUP BY municipality_id, author_key;

-- The posts that count under the current NLP version, every day: group by municipality_id and
-- author_key within a period for its voices. Live file only: it holds the author key.
CREATE OR REPLACE VIEW v_voice_posts AS
SELECT post_id, municipality_id, author_key, source, kind, channel, created_utc, day
FROM voice_posts((SELECT nlp_version FROM v_current_nlp), NULL, NULL);
