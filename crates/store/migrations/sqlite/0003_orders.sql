-- Orders, payments and the double-entry ledger (SQLite). Keep in step with
-- ../postgres/0003_orders.sql: same tables, same columns, same meaning.

CREATE TABLE carts (
    id             INTEGER PRIMARY KEY,
    buyer_id       INTEGER NOT NULL REFERENCES accounts(id),
    currency       TEXT    NOT NULL,
    order_id       INTEGER,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX carts_buyer ON carts(buyer_id, id);

CREATE TABLE cart_lines (
    cart_id  INTEGER NOT NULL REFERENCES carts(id),
    sku_id   INTEGER NOT NULL REFERENCES skus(id),
    qty      INTEGER NOT NULL CHECK (qty > 0),
    PRIMARY KEY (cart_id, sku_id)
);

-- Current state of an order; its history is order_events.
CREATE TABLE orders (
    id                INTEGER PRIMARY KEY,
    buyer_id          INTEGER NOT NULL REFERENCES accounts(id),
    channel           TEXT    NOT NULL,
    state             TEXT    NOT NULL,
    fulfilment_kind   TEXT    NOT NULL,
    currency          TEXT    NOT NULL,
    subtotal_minor    INTEGER NOT NULL,
    discount_minor    INTEGER NOT NULL,
    shipping_minor    INTEGER NOT NULL,
    tax_minor         INTEGER NOT NULL,
    total_minor       INTEGER NOT NULL CHECK (total_minor >= 0),
    captured_minor    INTEGER NOT NULL DEFAULT 0,
    refunded_minor    INTEGER NOT NULL DEFAULT 0,
    shop_id           INTEGER,
    streamer_id       INTEGER,
    room_id           INTEGER,
    origin_location   INTEGER,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    CHECK (refunded_minor <= captured_minor)
);
CREATE INDEX orders_buyer ON orders(buyer_id, id);

-- One per location an order ships from (split fulfilment).
CREATE TABLE fulfilments (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    location_id    INTEGER NOT NULL REFERENCES locations(id),
    UNIQUE (order_id, location_id)
);
CREATE INDEX fulfilments_location ON fulfilments(location_id, order_id);

CREATE TABLE order_lines (
    id                INTEGER PRIMARY KEY,
    order_id          INTEGER NOT NULL REFERENCES orders(id),
    fulfilment_id     INTEGER NOT NULL REFERENCES fulfilments(id),
    sku_id            INTEGER NOT NULL REFERENCES skus(id),
    supplier_id       INTEGER NOT NULL REFERENCES suppliers(id),
    qty               INTEGER NOT NULL CHECK (qty > 0),
    unit_price_minor  INTEGER NOT NULL,
    amount_minor      INTEGER NOT NULL,
    reservation_id    INTEGER NOT NULL
);
CREATE INDEX order_lines_order ON order_lines(order_id);
CREATE INDEX order_lines_supplier ON order_lines(supplier_id, order_id);

-- Append-only: every transition of every order.
CREATE TABLE order_events (
    id             INTEGER PRIMARY KEY,
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    from_state     TEXT,
    to_state       TEXT    NOT NULL,
    command        TEXT    NOT NULL,
    actor_id       INTEGER,
    note           TEXT    NOT NULL DEFAULT '',
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX order_events_order ON order_events(order_id, id);

CREATE TABLE stored_cards (
    id              INTEGER PRIMARY KEY,
    buyer_id        INTEGER NOT NULL REFERENCES accounts(id),
    provider_token  TEXT    NOT NULL,
    brand           TEXT    NOT NULL,
    last4           TEXT    NOT NULL,
    revoked         INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX stored_cards_buyer ON stored_cards(buyer_id, id);

CREATE TABLE payment_intents (
    id              INTEGER PRIMARY KEY,
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    buyer_id        INTEGER NOT NULL REFERENCES accounts(id),
    method          TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    refunded_minor  INTEGER NOT NULL DEFAULT 0,
    provider_ref    TEXT    NOT NULL,
    stored_card_id  INTEGER,
    take_rate_bps   INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    updated_at_ms   INTEGER NOT NULL,
    UNIQUE (provider_ref),
    CHECK (refunded_minor <= amount_minor)
);
CREATE INDEX payment_intents_order ON payment_intents(order_id);

-- Append-only: every change of every intent, and who caused it.
CREATE TABLE payment_events (
    id             INTEGER PRIMARY KEY,
    intent_id      INTEGER NOT NULL REFERENCES payment_intents(id),
    from_state     TEXT    NOT NULL,
    to_state       TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL,
    source         TEXT    NOT NULL,
    actor_id       INTEGER,
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX payment_events_intent ON payment_events(intent_id, id);

-- Provider webhook deliveries, deduplicated by the provider's event id.
CREATE TABLE webhook_deliveries (
    provider       TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    intent_id      INTEGER,
    outcome        TEXT    NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- Append-only double-entry ledger: each transaction's postings sum to 0 per currency.
CREATE TABLE ledger_txns (
    id             INTEGER PRIMARY KEY,
    kind           TEXT    NOT NULL,
    order_id       INTEGER,
    intent_id      INTEGER,
    created_at_ms  INTEGER NOT NULL
);
CREATE INDEX ledger_txns_order ON ledger_txns(order_id);

CREATE TABLE ledger_postings (
    id             INTEGER PRIMARY KEY,
    txn_id         INTEGER NOT NULL REFERENCES ledger_txns(id),
    account_kind   TEXT    NOT NULL,
    account_party  INTEGER NOT NULL,
    currency       TEXT    NOT NULL,
    amount_minor   INTEGER NOT NULL
);
CREATE INDEX ledger_postings_txn ON ledger_postings(txn_id);
CREATE INDEX ledger_postings_account ON ledger_postings(account_kind, account_party, currency);
