-- 003: near-duplicate detection (MinHash signatures and their LSH band buckets) and deleted items.

ALTER TABLE posts ADD COLUMN duplicate_kind VARCHAR;   -- exact | near (NULL when not a duplicate)

CREATE TABLE post_minhash (
    post_id          VARCHAR PRIMARY KEY,
    dedup_group      VARCHAR NOT NULL,       -- article | resident: only compared within a group
    created_utc      TIMESTAMPTZ NOT NULL,
    signature        UBIGINT[] NOT NULL
);

CREATE TABLE post_lsh (
    band             SMALLINT NOT NULL,
    bucket           UBIGINT NOT NULL,
    post_id          VARCHAR NOT NULL,
    PRIMARY KEY (band, bucket, post_id)
);

CREATE OR REPLACE VIEW v_posts AS
SELECT post_id, source, source_key, kind, channel, created_utc, title, text, url, parent_id, thread_id,
       municipality_id, relevance, duplicate_of, duplicate_kind, is_deleted
FROM posts;
