-- A cart (issue 19): the lines (name, quantity, unit price, product) and the discount a sale was rung
-- up as, JSON; NULL for a sale of one amount.
ALTER TABLE payment_sessions ADD COLUMN items TEXT;
