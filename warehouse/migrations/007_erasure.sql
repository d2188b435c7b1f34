-- 007: erasure that sticks. An erased item, or every item of an erased author, is never stored
-- again when a source delivers it anew (a Reddit listing overlaps earlier runs).
CREATE TABLE erased_items (
    post_id          VARCHAR PRIMARY KEY,
    erased_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE erased_authors (
    author_key       VARCHAR PRIMARY KEY,    -- keyed hash, as in posts.author_key; never a name
    erased_at        TIMESTAMPTZ NOT NULL
);
