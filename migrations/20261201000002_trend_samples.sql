-- The dashboard's trends (issue 18): server-side samples of the monitoring figures, one row per
-- sampling interval, kept 30 days, so charts show history and survive a reload or a restart.
CREATE TABLE trend_samples (
    at               INTEGER PRIMARY KEY NOT NULL,  -- Unix ms
    api_p50_ms       REAL NOT NULL,
    api_p95_ms       REAL NOT NULL,
    api_error_rate   REAL NOT NULL,                 -- percent of recent requests
    db_ms            REAL NOT NULL,                 -- one database round trip
    push_latency_ms  REAL NOT NULL,                 -- mean block → screen latency of recent pushes
    cpu_usage        REAL NOT NULL,
    memory_usage     REAL NOT NULL,
    active_sockets   INTEGER NOT NULL,
    blocks_behind    INTEGER NOT NULL
) WITHOUT ROWID;
