-- Omnichannel stock (SQLite). Keep in step with ../postgres/0002_stock.sql.

-- Current figures per (SKU, location): derived from stock_movements, rebuildable.
CREATE TABLE stock_levels (
    sku_id         INTEGER NOT NULL REFERENCES skus(id),
    location_id    INTEGER NOT NULL REFERENCES locations(id),
    on_hand        INTEGER NOT NULL CHECK (on_hand >= 0),
    reserved       INTEGER NOT NULL CHECK (reserved >= 0),
    safety         INTEGER NOT NULL CHECK (safety >= 0),
    updated_at_ms  INTEGER NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CHECK (reserved <= on_hand)
);

-- Append-only: every change to stock, with its reason.
CREATE TABLE stock_movements (
    id              INTEGER PRIMARY KEY,
    sku_id          INTEGER NOT NULL,
    location_id     INTEGER NOT NULL,
    reason          TEXT    NOT NULL,
    on_hand_delta   INTEGER NOT NULL,
    reserved_delta  INTEGER NOT NULL,
    safety_delta    INTEGER NOT NULL,
    reservation_id  INTEGER,
    transfer_id     INTEGER,
    actor_id        INTEGER,
    note            TEXT    NOT NULL DEFAULT '',
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements(sku_id, location_id, id);

-- Holds on stock with an expiry.
CREATE TABLE reservations (
    id             INTEGER PRIMARY KEY,
    sku_id         INTEGER NOT NULL,
    location_id    INTEGER NOT NULL,
    qty            INTEGER NOT NULL CHECK (qty > 0),
    state          TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    holder_id      INTEGER NOT NULL,
    expires_at_ms  INTEGER NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    updated_at_ms  INTEGER NOT NULL
);
CREATE INDEX reservations_held ON reservations(state, expires_at_ms);
CREATE INDEX reservations_holder ON reservations(holder_id, id);

-- Goods moving between locations: out at the source, in transit, in at the destination.
CREATE TABLE transfers (
    id               INTEGER PRIMARY KEY,
    sku_id           INTEGER NOT NULL,
    from_location    INTEGER NOT NULL,
    to_location      INTEGER NOT NULL,
    qty              INTEGER NOT NULL CHECK (qty > 0),
    state            TEXT    NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    received_at_ms   INTEGER
);
