-- 011: what a post's words add to its voice's profile evidence under a fitted evidence model
-- (profiles/lexical.py): per post, the summed idf-weighted word scores per profile (in the order of
-- the profile model's profiles) and the summed squared idf. NULL for a post without a voice or under
-- the hand-set model. Like signal_ids, evidence about a post, never a profile of a person: a voice's
-- posterior is only formed in memory, from all its posts, during the estimate.
ALTER TABLE post_signals ADD COLUMN text_score FLOAT[];
ALTER TABLE post_signals ADD COLUMN text_weight DOUBLE;

-- An exported voice keeps its summed text evidence beside its signals, so the labelled voices can be
-- scored by the same fitted evidence (model_version then names the fit too). Like its signals, this
-- is evidence of a random voice id with no author key: it cannot be joined back to a person.
ALTER TABLE label_voices ADD COLUMN text_score FLOAT[];
ALTER TABLE label_voices ADD COLUMN text_weight DOUBLE;
