-- Tips (issue 19): the tip asked of the customer before the amount is fixed, or chosen — JSON
-- (choices, the price before it, the percentage, the amount); NULL for a sale without one.
ALTER TABLE payment_sessions ADD COLUMN tip TEXT;
