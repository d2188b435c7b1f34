-- 009: a status that says what is known. share_estimates.status may now be 'unknown' (the index
-- interval neither excludes 1 nor lies inside the proportional band); status_reason says why:
-- 'few_voices' or 'little_evidence' for unknown, 'few_voices' for suppressed, NULL otherwise.
-- Rows written before this migration keep NULL. v_reach_gap keeps every column in its order and
-- shows the reason last.
ALTER TABLE share_estimates ADD COLUMN status_reason VARCHAR;

CREATE OR REPLACE VIEW v_reach_gap AS
SELECT municipality_id AS municipality, period_start, period_end, topic_id AS topic, channel,
       profile_model, profile_id, profile_name, n_voices, population_share,
       population_share_is_assumption, online_share, online_lower, online_upper,
       representation_index, ri_lower, ri_upper, status, method, n_voices_with_evidence, group_key,
       status_reason
FROM share_estimates
WHERE is_primary;
