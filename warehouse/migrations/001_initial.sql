-- 001: the first schema. Tables are written only by the nightly flow; views are the researchers' contract.

CREATE TABLE runs (
    run_id        BIGINT PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    ended_at      TIMESTAMPTZ,
    status        VARCHAR NOT NULL,          -- running | ok | partial | failed
    mode          VARCHAR NOT NULL,          -- live | sample
    posts_new     INTEGER,
    posts_enriched INTEGER,
    estimates     INTEGER,
    error         VARCHAR
);

CREATE TABLE run_sources (
    run_id        BIGINT NOT NULL,
    source_key    VARCHAR NOT NULL,
    status        VARCHAR NOT NULL,          -- ok | failed
    fetched       INTEGER NOT NULL,
    new           INTEGER NOT NULL,
    duplicate     INTEGER NOT NULL,
    duration_s    DOUBLE NOT NULL,
    reason        VARCHAR,
    warnings      VARCHAR[],
    PRIMARY KEY (run_id, source_key)
);

CREATE TABLE source_state (
    source_key    VARCHAR PRIMARY KEY,
    state         JSON NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE posts (
    post_id          VARCHAR PRIMARY KEY,    -- source-prefixed native id, e.g. reddit:t1_abc
    source           VARCHAR NOT NULL,       -- reddit | rss
    source_key       VARCHAR NOT NULL,       -- the configured source that delivered it first
    kind             VARCHAR NOT NULL,       -- post | comment | article
    channel          VARCHAR NOT NULL,       -- r/utrecht, or the feed name
    created_utc      TIMESTAMPTZ NOT NULL,
    title            VARCHAR,
    text             VARCHAR,                -- NULL once purged after the retention period
    url              VARCHAR,
    parent_id        VARCHAR,
    thread_id        VARCHAR,
    author_key       VARCHAR,                -- keyed hash; never a username
    municipality_id  VARCHAR,                -- NULL: concerns no configured municipality
    relevance        VARCHAR NOT NULL,       -- why: named | channel | thread | ... | none
    content_hash     VARCHAR NOT NULL,
    duplicate_of     VARCHAR,                -- the post_id kept when this is a duplicate
    is_deleted       BOOLEAN NOT NULL DEFAULT false,
    first_run_id     BIGINT NOT NULL,
    stored_at        TIMESTAMPTZ NOT NULL
);

CREATE TABLE enrichment (
    post_id          VARCHAR NOT NULL,
    nlp_version      VARCHAR NOT NULL,
    content_hash     VARCHAR NOT NULL,
    language         VARCHAR NOT NULL,
    sentiment        VARCHAR NOT NULL,       -- negative | neutral | positive
    sentiment_score  DOUBLE NOT NULL,        -- [-1, 1]
    trust            VARCHAR NOT NULL,       -- distrust | neutral | trust
    n_tokens         INTEGER NOT NULL,
    enriched_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, nlp_version)
);

CREATE TABLE post_topics (
    post_id          VARCHAR NOT NULL,
    nlp_version      VARCHAR NOT NULL,
    topic_id         VARCHAR NOT NULL,
    score            DOUBLE NOT NULL,
    evidence         VARCHAR[] NOT NULL,
    PRIMARY KEY (post_id, nlp_version, topic_id)
);

-- Profile signals that fired per post (not per person): the evidence behind the estimates.
-- One row per evaluated post, also when no signal fired (empty list).
CREATE TABLE post_signals (
    post_id          VARCHAR NOT NULL,
    profile_model    VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    signal_ids       VARCHAR[] NOT NULL,
    PRIMARY KEY (post_id, profile_model, model_version)
);

-- One row per profile per estimate group (municipality x period x topic x channel x method).
CREATE TABLE share_estimates (
    group_key        VARCHAR NOT NULL,
    run_id           BIGINT NOT NULL,
    municipality_id  VARCHAR NOT NULL,
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    topic_id         VARCHAR,                -- NULL = all topics
    channel          VARCHAR,                -- NULL = all channels
    profile_model    VARCHAR NOT NULL,
    profile_id       VARCHAR NOT NULL,
    profile_name     VARCHAR NOT NULL,
    method           VARCHAR NOT NULL,       -- pcc | emq | pacc
    is_primary       BOOLEAN NOT NULL,       -- the configured method; the other is shown for sensitivity
    n_voices         INTEGER NOT NULL,
    n_voices_with_evidence INTEGER NOT NULL,
    population_share DOUBLE NOT NULL,
    population_share_is_assumption BOOLEAN NOT NULL,
    online_share     DOUBLE,                 -- NULL when suppressed
    online_lower     DOUBLE,
    online_upper     DOUBLE,
    representation_index DOUBLE,
    ri_lower         DOUBLE,
    ri_upper         DOUBLE,
    status           VARCHAR NOT NULL,       -- absent | under | proportional | over | suppressed
    PRIMARY KEY (group_key, profile_id, method)
);

-- How many voices in a group showed each signal: aggregate only, never per voice.
CREATE TABLE estimate_signals (
    group_key        VARCHAR NOT NULL,
    signal_id        VARCHAR NOT NULL,
    n_voices         INTEGER NOT NULL,
    PRIMARY KEY (group_key, signal_id)
);
