-- 005: the labelling loop. An export gives each sampled voice a random id; researchers label the
-- profile; imported labels calibrate the estimates (PACC) and measure the evidence model.
-- No author key is kept: an exported voice is its random id plus the evidence it showed, so a label
-- can never be joined back to a person.
CREATE TABLE label_voices (
    voice_id         VARCHAR PRIMARY KEY,    -- random, per export
    municipality_id  VARCHAR NOT NULL,
    period_start     DATE NOT NULL,
    period_end       DATE NOT NULL,
    profile_model    VARCHAR NOT NULL,
    model_version    VARCHAR NOT NULL,
    signal_ids       VARCHAR[] NOT NULL,     -- the signals of the evidence model the voice showed
    exported_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE voice_labels (
    voice_id         VARCHAR NOT NULL,
    profile_model    VARCHAR NOT NULL,
    profile_id       VARCHAR NOT NULL,
    labelled_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (voice_id, profile_model)
);
