-- The database's own query times (issue 18): p50/p95 of the statements and write transactions the app
-- ran recently, beside the single round trip `db_ms` already sampled.
ALTER TABLE trend_samples ADD COLUMN db_p50_ms REAL NOT NULL DEFAULT 0;
ALTER TABLE trend_samples ADD COLUMN db_p95_ms REAL NOT NULL DEFAULT 0;
