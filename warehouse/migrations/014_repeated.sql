-- 014: an item a source lists more than once in one delivery (an RSS guid twice in a feed) is one
-- item: `fetched` counts it once and `repeated` says how many extra listings were skipped, so the
-- counts of a source's line add up.

ALTER TABLE run_sources ADD COLUMN repeated INTEGER DEFAULT 0;
