-- 004: communication advice for every absent or under-represented profile of an estimate group,
-- copied from the profile model with its source or assumption flag.
CREATE TABLE gap_advice (
    group_key        VARCHAR NOT NULL,
    profile_id       VARCHAR NOT NULL,
    aspect           VARCHAR NOT NULL,       -- channel | tone | form | timing
    advice           VARCHAR NOT NULL,
    source           VARCHAR,                -- NULL when it is an assumption
    is_assumption    BOOLEAN NOT NULL,
    PRIMARY KEY (group_key, profile_id, aspect, advice)
);
