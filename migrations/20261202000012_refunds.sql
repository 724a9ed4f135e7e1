-- Refunds without holding keys (issue 19): staff ask for a refund of a paid sale to the payer's
-- address; the shop's own wallet sends it; the watcher matches the outgoing Transfer log from the
-- receive address by token, recipient and exact amount, after the refund was asked.
CREATE TABLE refunds (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,              -- rfd_ + 128 random bits
    payment_id      TEXT NOT NULL REFERENCES payment_sessions(id),
    status          TEXT NOT NULL,                     -- awaiting | confirming | confirmed | cancelled
    network_id      TEXT NOT NULL,
    chain_id        INTEGER NOT NULL,
    token_contract  TEXT NOT NULL,
    from_address    TEXT NOT NULL,                     -- the shop's receive address
    to_address      TEXT NOT NULL,
    amount_base_units TEXT NOT NULL,
    reason          TEXT,
    created_by      TEXT,
    start_block     INTEGER,                           -- no earlier block matches it
    tx_hash         TEXT,
    log_index       INTEGER,
    block_number    INTEGER,
    block_hash      TEXT,
    confirmations   INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    matched_at      INTEGER,
    confirmed_at    INTEGER,
    cancelled_at    INTEGER,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id, seq);
CREATE INDEX refunds_open ON refunds (network_id, status) WHERE status IN ('awaiting', 'confirming');
-- One outgoing log settles at most one refund.
CREATE UNIQUE INDEX refunds_log ON refunds (chain_id, tx_hash, log_index) WHERE tx_hash IS NOT NULL;
-- What confirmed refunds gave back, base units (NULL: nothing).
ALTER TABLE payment_sessions ADD COLUMN refunded_base_units TEXT;
