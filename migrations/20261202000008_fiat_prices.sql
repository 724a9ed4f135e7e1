-- Prices in the shop's currency (issue 19): what a payment cost in the shop's currency, and the rate
-- it was converted at — from where, and how old. All NULL for a payment made without a fresh rate.
ALTER TABLE payment_sessions ADD COLUMN fiat_amount TEXT;
ALTER TABLE payment_sessions ADD COLUMN fiat_currency TEXT;
ALTER TABLE payment_sessions ADD COLUMN rate TEXT;
ALTER TABLE payment_sessions ADD COLUMN rate_source TEXT;
ALTER TABLE payment_sessions ADD COLUMN rate_at INTEGER;       -- Unix ms
ALTER TABLE payment_sessions ADD COLUMN rate_markup_bp INTEGER; -- hundredths of a percent
