-- Foundation schema (SQLite). Keep in step with ../postgres/0001_foundation.sql:
-- same tables, same columns, same meaning; only the dialect differs.
-- Times are UTC milliseconds since the epoch; flags are 0/1 integers.

CREATE TABLE accounts (
    id             INTEGER PRIMARY KEY,
    display_name   TEXT    NOT NULL,
    phone          TEXT    UNIQUE,
    email          TEXT    UNIQUE,
    password_hash  TEXT,
    disabled       INTEGER NOT NULL DEFAULT 0,
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE suppliers (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    contact_email  TEXT    NOT NULL DEFAULT '',
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE shops (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL,
    owner_id       INTEGER NOT NULL REFERENCES accounts(id),
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE locations (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    supplier_id         INTEGER REFERENCES suppliers(id),
    address_json        TEXT    NOT NULL,
    can_ship            INTEGER NOT NULL,
    can_pickup          INTEGER NOT NULL,
    can_sell_in_person  INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL
);
CREATE INDEX locations_supplier ON locations(supplier_id);

-- A role an account holds, scoped to an organisation (0 = none).
CREATE TABLE grants (
    account_id  INTEGER NOT NULL REFERENCES accounts(id),
    role        TEXT    NOT NULL,
    org_id      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, role, org_id)
);

-- Bearer credentials: sign-in sessions and API keys. Only a hash of the secret is kept.
CREATE TABLE credentials (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts(id),
    kind           TEXT    NOT NULL,
    label          TEXT    NOT NULL DEFAULT '',
    secret_hash    TEXT    NOT NULL UNIQUE,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER,
    revoked_at_ms  INTEGER
);
CREATE INDEX credentials_account ON credentials(account_id);

CREATE TABLE otp_codes (
    id             INTEGER PRIMARY KEY,
    phone          TEXT    NOT NULL,
    code_hash      TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    attempts       INTEGER NOT NULL DEFAULT 0,
    consumed       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX otp_codes_phone ON otp_codes(phone, created_at_ms);

CREATE TABLE categories (
    id             INTEGER PRIMARY KEY,
    parent_id      INTEGER REFERENCES categories(id),
    -- materialised path of ids, e.g. '/1/4/', so a subtree is one prefix match
    path           TEXT    NOT NULL DEFAULT '',
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE category_names (
    category_id  INTEGER NOT NULL REFERENCES categories(id),
    locale       TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    PRIMARY KEY (category_id, locale)
);

CREATE TABLE brands (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE,
    created_at_ms  INTEGER NOT NULL
);

CREATE TABLE products (
    id             INTEGER PRIMARY KEY,
    supplier_id    INTEGER NOT NULL REFERENCES suppliers(id),
    category_id    INTEGER REFERENCES categories(id),
    brand_id       INTEGER REFERENCES brands(id),
    status         TEXT    NOT NULL,
    media_json     TEXT    NOT NULL DEFAULT '[]',
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX products_supplier ON products(supplier_id);
CREATE INDEX products_category ON products(category_id);
CREATE INDEX products_status ON products(status, id);

CREATE TABLE product_texts (
    product_id   INTEGER NOT NULL REFERENCES products(id),
    locale       TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    -- lower-cased title for case-insensitive search in any dialect
    search_text  TEXT    NOT NULL,
    PRIMARY KEY (product_id, locale)
);

CREATE TABLE product_attributes (
    product_id  INTEGER NOT NULL REFERENCES products(id),
    key         TEXT    NOT NULL,
    value       TEXT    NOT NULL,
    PRIMARY KEY (product_id, key)
);
CREATE INDEX product_attributes_kv ON product_attributes(key, value);

CREATE TABLE skus (
    id             INTEGER PRIMARY KEY,
    product_id     INTEGER NOT NULL REFERENCES products(id),
    code           TEXT    NOT NULL UNIQUE,
    color          TEXT    NOT NULL,
    size           TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    UNIQUE (product_id, color, size)
);

CREATE TABLE sku_prices (
    sku_id        INTEGER NOT NULL REFERENCES skus(id),
    currency      TEXT    NOT NULL,
    amount_minor  INTEGER NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (sku_id, currency)
);

-- Stored results of mutating requests, replayed for a retry with the same key.
CREATE TABLE idempotency_keys (
    scope          TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    request_hash   TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    status_code    INTEGER,
    content_type   TEXT,
    body           BLOB,
    created_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
