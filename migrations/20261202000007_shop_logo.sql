-- The shop's logo (issue 18), shown on the customer display's idle screen: one row at most. The
-- image is a PNG, JPEG or WebP of at most 512 KiB (checked by its first bytes before it is stored);
-- `sha256` (hex) of the image gives its version, which the display state carries.
CREATE TABLE shop_logo (
    id            INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    image         BLOB NOT NULL,
    content_type  TEXT NOT NULL CHECK (content_type IN ('image/png', 'image/jpeg', 'image/webp')),
    sha256        TEXT NOT NULL,
    updated_at    INTEGER NOT NULL              -- Unix ms
);
