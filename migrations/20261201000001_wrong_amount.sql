-- The truth at the counter (issue 18): the latest transfer of the wrong amount seen for an open sale
-- (the inbox row, and what it carried in base units), so both screens can show both figures and
-- staff can attach it in one click.
ALTER TABLE payment_sessions ADD COLUMN wrong_transfer_id INTEGER REFERENCES transfers(seq);
ALTER TABLE payment_sessions ADD COLUMN wrong_amount_base_units TEXT;
