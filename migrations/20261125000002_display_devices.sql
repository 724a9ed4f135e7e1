-- Customer displays paired with a code (issue 16): each holds a display-role token, stored hashed.
CREATE TABLE display_devices (
    id          TEXT PRIMARY KEY NOT NULL,       -- "dsp_" + 24 hex digits
    name        TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,            -- SHA-256 of the token, hex
    paired_at   INTEGER NOT NULL,
    revoked_at  INTEGER
);
