-- 005: the labelling loop. An export gives each sampled voice a random id; researchers label the
-- profile; imported labels calibrate the estimates (PACC) and measure the evidence model.
CREATE TABLE label_voices (
    voice_id         VARCHAR PRIMARY KEY,    -- random, per export; the file never holds an author key
    author_key       VARCHAR NOT NULL,
    municipality_id  VARCHAR NOT NULL,
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    exported_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE voice_labels (
    voice_id         VARCHAR NOT NULL,
    profile_model    VARCHAR NOT NULL,
    profile_id       VARCHAR NOT NULL,
    labelled_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (voice_id, profile_model)
);
