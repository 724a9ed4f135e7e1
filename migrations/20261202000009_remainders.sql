-- The rest of a short payment (issue 19): a payment asking what a sale credited with too little
-- still lacks points at that sale.
ALTER TABLE payment_sessions ADD COLUMN remainder_of TEXT REFERENCES payment_sessions(id);
CREATE INDEX payment_sessions_remainder_of ON payment_sessions(remainder_of) WHERE remainder_of IS NOT NULL;
