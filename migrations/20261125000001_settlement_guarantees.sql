-- Settlement that holds against hostile endpoints, replays and reorgs (issue 15).

-- The payment's lower bound: its network's head at creation less a margin for head lag. A transfer
-- in an earlier block never credits it automatically. NULL when no head was known.
ALTER TABLE payment_sessions ADD COLUMN start_block INTEGER;
-- What the crediting transfer carried, in base units (differs from amount_base_units only when
-- staff attached another amount).
ALTER TABLE payment_sessions ADD COLUMN amount_received TEXT;
-- The RPC endpoint (its key: URL without path or key, plus a digest) that reported the credit; a
-- second, independent endpoint must confirm it before `paid`.
ALTER TABLE payment_sessions ADD COLUMN credit_source TEXT;
CREATE INDEX payment_sessions_tx ON payment_sessions (transaction_hash);

-- The block's time (Unix ms) of each stored log, and the endpoint that reported it.
ALTER TABLE transfers ADD COLUMN block_time INTEGER;
ALTER TABLE transfers ADD COLUMN source TEXT;
-- Why an unmatched transfer is in the inbox, and the sale it belongs with (e.g. paid after that
-- sale was cancelled, or a second payment for a paid sale).
ALTER TABLE transfers ADD COLUMN related_payment_id TEXT REFERENCES payment_sessions(id);
ALTER TABLE transfers ADD COLUMN note TEXT;
CREATE INDEX transfers_tx ON transfers (chain_id, tx_hash);

-- The payment as it was when the event happened (JSON), so a webhook sent later tells what
-- happened then, not what is true by the time it is sent.
ALTER TABLE events ADD COLUMN payment TEXT;

-- Hashes of blocks the watcher scanned to (and of blocks holding stored logs): after a reorg it
-- rewinds to the highest of these still on the canonical chain, however deep.
CREATE TABLE chain_blocks (
    network_id  TEXT NOT NULL REFERENCES networks(id),
    number      INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (network_id, number)
) WITHOUT ROWID;
