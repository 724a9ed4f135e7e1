-- Refunds (issue 19): a sale may now be `partially_refunded` or `refunded`. SQLite cannot change a
-- CHECK constraint in place, and migrations run inside a transaction with foreign keys on, so the
-- table is rebuilt under deferred foreign keys: its rows are copied aside, the table dropped (its
-- children's references left dangling for a moment) and made again under the same name, and the
-- rows put back — each re-inserted parent row answers the references the drop left open, so the
-- commit's foreign-key check passes and no row anywhere is lost.
PRAGMA defer_foreign_keys = ON;
CREATE TEMP TABLE payment_sessions_copy AS SELECT * FROM payment_sessions;
DROP TABLE payment_sessions;
CREATE TABLE payment_sessions (
    seq                     INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and pagination cursor
    id                      TEXT NOT NULL UNIQUE,                -- "pay_" + 128 random bits
    status                  TEXT NOT NULL CHECK (status IN ('pending','confirming','paid','partially_refunded','refunded','expired','cancelled','failed')),
    network_id              TEXT NOT NULL REFERENCES networks(id),
    chain_id                INTEGER NOT NULL,
    token_symbol            TEXT NOT NULL,
    token_contract          TEXT NOT NULL,
    decimals                INTEGER NOT NULL,
    pay_to                  TEXT NOT NULL,
    requested_base_units    TEXT NOT NULL,
    amount_base_units       TEXT NOT NULL,                       -- exact amount to pay (requested + offset)
    offset_steps            INTEGER NOT NULL,
    description             TEXT,
    order_reference         TEXT UNIQUE,
    metadata                TEXT,                                -- JSON object
    product_id              TEXT,
    idempotency_key         TEXT UNIQUE,
    request_fingerprint     TEXT,
    required_confirmations  INTEGER NOT NULL,
    confirmations           INTEGER NOT NULL DEFAULT 0,
    transaction_hash        TEXT,
    block_number            INTEGER,
    block_hash              TEXT,
    log_index               INTEGER,
    late                    INTEGER NOT NULL DEFAULT 0,
    created_at              INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,
    paid_at                 INTEGER,
    closed_at               INTEGER,                             -- when it became paid/expired/cancelled/failed
    updated_at              INTEGER NOT NULL,
    start_block             INTEGER,
    amount_received         TEXT,
    credit_source           TEXT,
    wrong_transfer_id       INTEGER REFERENCES transfers(seq),
    wrong_amount_base_units TEXT,
    fiat_amount             TEXT,
    fiat_currency           TEXT,
    rate                    TEXT,
    rate_source             TEXT,
    rate_at                 INTEGER,
    rate_markup_bp          INTEGER,
    remainder_of            TEXT REFERENCES payment_sessions(id),
    items                   TEXT,
    tip                     TEXT,
    refunded_base_units     TEXT                                 -- what confirmed refunds gave back
);
INSERT INTO payment_sessions (seq, id, status, network_id, chain_id, token_symbol,
    token_contract, decimals, pay_to, requested_base_units, amount_base_units, offset_steps,
    description, order_reference, metadata, product_id, idempotency_key, request_fingerprint,
    required_confirmations, confirmations, transaction_hash, block_number, block_hash, log_index,
    late, created_at, expires_at, paid_at, closed_at, updated_at, start_block, amount_received,
    credit_source, wrong_transfer_id, wrong_amount_base_units, fiat_amount, fiat_currency, rate,
    rate_source, rate_at, rate_markup_bp, remainder_of, items, tip, refunded_base_units)
SELECT seq, id, status, network_id, chain_id, token_symbol,
    token_contract, decimals, pay_to, requested_base_units, amount_base_units, offset_steps,
    description, order_reference, metadata, product_id, idempotency_key, request_fingerprint,
    required_confirmations, confirmations, transaction_hash, block_number, block_hash, log_index,
    late, created_at, expires_at, paid_at, closed_at, updated_at, start_block, amount_received,
    credit_source, wrong_transfer_id, wrong_amount_base_units, fiat_amount, fiat_currency, rate,
    rate_source, rate_at, rate_markup_bp, remainder_of, items, tip, refunded_base_units
FROM payment_sessions_copy ORDER BY seq;
DROP TABLE payment_sessions_copy;
CREATE INDEX payment_sessions_held ON payment_sessions (network_id, token_symbol, pay_to, amount_base_units);
CREATE UNIQUE INDEX payment_sessions_open_amount ON payment_sessions (network_id, token_symbol, pay_to, amount_base_units)
    WHERE status IN ('pending', 'confirming');
CREATE INDEX payment_sessions_status_expiry ON payment_sessions (status, expires_at);
CREATE INDEX payment_sessions_tx ON payment_sessions (transaction_hash);
CREATE INDEX payment_sessions_remainder_of ON payment_sessions(remainder_of) WHERE remainder_of IS NOT NULL;
CREATE TRIGGER payment_sessions_created AFTER INSERT ON payment_sessions
BEGIN
    INSERT INTO events (payment_id, kind, from_status, to_status, detail, at)
    VALUES (NEW.id, 'payment.created', NULL, NEW.status, NULL, NEW.updated_at);
END;
