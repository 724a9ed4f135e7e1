-- Webhooks (SPEC §13): endpoints, and a persistent outbox fed from the events table.

CREATE TABLE webhook_endpoints (
    id          TEXT PRIMARY KEY NOT NULL,            -- "whk_" + 24 hex digits
    url         TEXT NOT NULL,
    secret      TEXT NOT NULL,
    events      TEXT NOT NULL,                        -- JSON array of event types
    source      TEXT NOT NULL CHECK (source IN ('config', 'api')),
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX webhook_endpoints_config_url ON webhook_endpoints (url) WHERE source = 'config';

-- One row per (event, endpoint): the body is frozen when queued, so retries send the same bytes.
CREATE TABLE webhook_deliveries (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq         INTEGER NOT NULL REFERENCES events(seq),
    endpoint_id       TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_type        TEXT NOT NULL,
    payload           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER NOT NULL,
    last_status_code  INTEGER,
    last_error        TEXT,
    delivered_at      INTEGER,
    created_at        INTEGER NOT NULL,
    UNIQUE (event_seq, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);

-- The last events.seq turned into deliveries.
CREATE TABLE webhook_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    event_seq  INTEGER NOT NULL
);
