-- The epusdt protocol (issue 20): an order made through it is an ordinary payment (its order_id
-- is the payment's order_reference) plus what the protocol remembers of it.
CREATE TABLE epusdt_orders (
    payment_id    TEXT PRIMARY KEY NOT NULL REFERENCES payment_sessions(id),
    trade_type    TEXT NOT NULL,                 -- usdt.bep20, usdc.polygon, …
    amount        TEXT NOT NULL,                 -- the shop-currency amount as the shop system sent it
    notify_url    TEXT NOT NULL,
    redirect_url  TEXT,
    created_at    INTEGER NOT NULL
);
-- A delivery may go elsewhere than its endpoint's URL: an epusdt order's callback goes to the
-- order's own notify_url.
ALTER TABLE webhook_deliveries ADD COLUMN target_url TEXT;
