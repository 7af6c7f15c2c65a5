-- Omnichannel stock (PostgreSQL). Keep in step with ../sqlite/0002_stock.sql.

-- Current figures per (SKU, location): derived from stock_movements, rebuildable.
CREATE TABLE stock_levels (
    sku_id         BIGINT NOT NULL REFERENCES skus(id),
    location_id    BIGINT NOT NULL REFERENCES locations(id),
    on_hand        BIGINT NOT NULL CHECK (on_hand >= 0),
    reserved       BIGINT NOT NULL CHECK (reserved >= 0),
    safety         BIGINT NOT NULL CHECK (safety >= 0),
    updated_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (sku_id, location_id),
    CHECK (reserved <= on_hand)
);

-- Append-only: every change to stock, with its reason.
CREATE TABLE stock_movements (
    id              BIGINT PRIMARY KEY,
    sku_id          BIGINT NOT NULL,
    location_id     BIGINT NOT NULL,
    reason          TEXT    NOT NULL,
    on_hand_delta   BIGINT NOT NULL,
    reserved_delta  BIGINT NOT NULL,
    safety_delta    BIGINT NOT NULL,
    reservation_id  BIGINT,
    transfer_id     BIGINT,
    actor_id        BIGINT,
    note            TEXT    NOT NULL DEFAULT '',
    created_at_ms   BIGINT NOT NULL
);
CREATE INDEX stock_movements_sku ON stock_movements(sku_id, location_id, id);

-- Holds on stock with an expiry.
CREATE TABLE reservations (
    id             BIGINT PRIMARY KEY,
    sku_id         BIGINT NOT NULL,
    location_id    BIGINT NOT NULL,
    qty            BIGINT NOT NULL CHECK (qty > 0),
    state          TEXT    NOT NULL,
    channel        TEXT    NOT NULL,
    holder_id      BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    updated_at_ms  BIGINT NOT NULL
);
CREATE INDEX reservations_held ON reservations(state, expires_at_ms);
CREATE INDEX reservations_holder ON reservations(holder_id, id);

-- Goods moving between locations: out at the source, in transit, in at the destination.
CREATE TABLE transfers (
    id               BIGINT PRIMARY KEY,
    sku_id           BIGINT NOT NULL,
    from_location    BIGINT NOT NULL,
    to_location      BIGINT NOT NULL,
    qty              BIGINT NOT NULL CHECK (qty > 0),
    state            TEXT    NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    received_at_ms   BIGINT
);
