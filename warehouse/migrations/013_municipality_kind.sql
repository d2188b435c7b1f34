-- 013: what kind of municipality each one is (city, villages; NULL when neither the configuration
-- nor the shipped gazetteer says), so that the estimate stores only the advice that fits it and the
-- report says for which kind it was chosen.
ALTER TABLE municipalities ADD COLUMN kind VARCHAR;
