-- 008: MinHash signatures of a new, vectorised scheme (sources/dedup.py), stored compactly, and
-- an LSH table without a primary key.
-- Signatures of two schemes cannot be compared, so the index starts empty and the store stage
-- rebuilds it from the stored texts (warehouse.store.ensure_near_index) before its first delivery.

DROP TABLE post_minhash;
DROP TABLE post_lsh;

CREATE TABLE post_minhash (
    post_id          VARCHAR PRIMARY KEY,
    dedup_group      VARCHAR NOT NULL,       -- article | resident: only compared within a group
    created_utc      TIMESTAMPTZ NOT NULL,
    signature        BLOB NOT NULL           -- 126 little-endian uint32 MinHash values
);

-- No primary key: its index cost more to maintain (42 rows per item) than it ever saved a lookup;
-- the store stage finds candidates with one hash join on (band, bucket).
CREATE TABLE post_lsh (
    band             SMALLINT NOT NULL,
    bucket           UBIGINT NOT NULL,
    post_id          VARCHAR NOT NULL
);

CREATE TABLE near_index (
    scheme           VARCHAR NOT NULL,       -- sources.dedup.SCHEME the index was built with
    built_at         TIMESTAMPTZ NOT NULL,
    posts            BIGINT NOT NULL         -- signatures written by that build
);
