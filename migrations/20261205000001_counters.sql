-- Counters attached to a hub (issue 21): a till paired with the display pairing code holds a
-- cashier-role token, stored hashed; every sale it makes names it.
CREATE TABLE counters (
    id          TEXT PRIMARY KEY NOT NULL,       -- "ctr_" + 24 hex digits
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,            -- SHA-256 of the token, hex
    paired_at   INTEGER NOT NULL,
    revoked_at  INTEGER
);

ALTER TABLE payment_sessions ADD COLUMN counter_id TEXT;      -- the counter that made the sale
ALTER TABLE payment_sessions ADD COLUMN counter_name TEXT;    -- its name when it did
CREATE INDEX payment_sessions_counter ON payment_sessions (counter_id, seq);
