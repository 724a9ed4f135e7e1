-- Initial schema. Migrations are append-only: never edit a released file, add a new one.
-- Amounts are exact integers in token base units stored as decimal strings; times are Unix milliseconds (UTC).

CREATE TABLE networks (
    id            TEXT PRIMARY KEY NOT NULL,          -- slug used in the API, e.g. "bsc"
    name          TEXT NOT NULL,
    chain_id      INTEGER NOT NULL,
    rpc_urls      TEXT NOT NULL DEFAULT '[]',         -- JSON array, failover order
    ws_urls       TEXT NOT NULL DEFAULT '[]',         -- JSON array
    explorer_url  TEXT NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    source        TEXT NOT NULL DEFAULT 'config', -- 'config' rows follow the file; 'settings' rows are the UI's
    updated_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    network_id        TEXT NOT NULL REFERENCES networks(id),
    symbol            TEXT NOT NULL,
    name              TEXT NOT NULL,
    contract_address  TEXT NOT NULL,                  -- EIP-55
    decimals          INTEGER NOT NULL CHECK (decimals BETWEEN 0 AND 36),
    legacy            INTEGER NOT NULL DEFAULT 0,     -- still accepted, shown as legacy (e.g. BUSD)
    enabled           INTEGER NOT NULL DEFAULT 1,
    source            TEXT NOT NULL DEFAULT 'config',
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (network_id, symbol)
);

CREATE TABLE products (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,                -- "prod_" + random
    name         TEXT NOT NULL,
    price        TEXT NOT NULL,                       -- decimal string in token units (stablecoins ~ USD)
    description  TEXT,
    active       INTEGER NOT NULL DEFAULT 1,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

CREATE TABLE payment_sessions (
    seq                     INTEGER PRIMARY KEY AUTOINCREMENT,  -- list order and pagination cursor
    id                      TEXT NOT NULL UNIQUE,                -- "pay_" + 128 random bits
    status                  TEXT NOT NULL CHECK (status IN ('pending','confirming','paid','expired','cancelled','failed')),
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
    updated_at              INTEGER NOT NULL
);

-- Unique-amount lookups: which exact amounts are held on a (network, token, receive address).
CREATE INDEX payment_sessions_held ON payment_sessions (network_id, token_symbol, pay_to, amount_base_units);
-- Safety net under the in-process lock: two open payments never share an exact amount.
CREATE UNIQUE INDEX payment_sessions_open_amount ON payment_sessions (network_id, token_symbol, pay_to, amount_base_units)
    WHERE status IN ('pending', 'confirming');
CREATE INDEX payment_sessions_status_expiry ON payment_sessions (status, expires_at);

-- Every Transfer to the receive address seen on chain, matched or not.
CREATE TABLE transfers (
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    chain_id          INTEGER NOT NULL,
    network_id        TEXT NOT NULL REFERENCES networks(id),
    token_contract    TEXT NOT NULL,
    tx_hash           TEXT NOT NULL,
    log_index         INTEGER NOT NULL,
    block_number      INTEGER NOT NULL,
    block_hash        TEXT NOT NULL,
    from_address      TEXT NOT NULL,
    to_address        TEXT NOT NULL,
    value_base_units  TEXT NOT NULL,
    payment_id        TEXT REFERENCES payment_sessions(id),   -- the payment it credits, if any
    removed           INTEGER NOT NULL DEFAULT 0,              -- its block left the canonical chain
    seen_at           INTEGER NOT NULL,
    UNIQUE (chain_id, tx_hash, log_index)
);
CREATE INDEX transfers_payment ON transfers (payment_id);

-- Last fully processed block per network, with its hash (to detect reorgs across restarts).
CREATE TABLE chain_cursors (
    network_id    TEXT PRIMARY KEY NOT NULL REFERENCES networks(id),
    block_number  INTEGER NOT NULL,
    block_hash    TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- Status history and audit trail.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id   TEXT REFERENCES payment_sessions(id),
    kind         TEXT NOT NULL,                 -- e.g. "payment.created", "payment.expired"
    from_status  TEXT,
    to_status    TEXT,
    detail       TEXT,                          -- JSON
    at           INTEGER NOT NULL
);
CREATE INDEX events_payment ON events (payment_id, seq);
