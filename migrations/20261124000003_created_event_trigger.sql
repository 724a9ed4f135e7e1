-- A payment's `payment.created` audit row is written by the INSERT itself: a sale is then one
-- statement (one round trip to SQLite, serialized with every other sale) and still atomic with
-- its event. Every other event is written by the core (src-tauri/core/src/events.rs).
CREATE TRIGGER payment_sessions_created AFTER INSERT ON payment_sessions
BEGIN
    INSERT INTO events (payment_id, kind, from_status, to_status, detail, at)
    VALUES (NEW.id, 'payment.created', NULL, NEW.status, NULL, NEW.updated_at);
END;
