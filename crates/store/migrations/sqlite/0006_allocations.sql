-- Channel allocations (SQLite). Keep in step with ../postgres/0006_allocations.sql.

-- Units of a SKU (across all locations that ship) set aside for one channel
-- key, e.g. 'livestream:room:42'. They move no stock; they cap what the
-- channel may take and keep other channels off the remaining units.
CREATE TABLE stock_allocations (
    id              INTEGER PRIMARY KEY,
    sku_id          INTEGER NOT NULL REFERENCES skus(id),
    channel         TEXT    NOT NULL,
    qty             INTEGER NOT NULL CHECK (qty > 0),
    -- Units held or shipped through it; holds released while open are given back.
    taken           INTEGER NOT NULL CHECK (taken >= 0),
    state           TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    -- Untaken units returned to the pool when it closed.
    returned        INTEGER NOT NULL DEFAULT 0 CHECK (returned >= 0),
    note            TEXT    NOT NULL DEFAULT '',
    created_by      INTEGER NOT NULL,
    closed_by       INTEGER,
    created_at_ms   INTEGER NOT NULL,
    closed_at_ms    INTEGER,
    CHECK (taken <= qty)
);
-- One open allocation per SKU and channel.
CREATE UNIQUE INDEX stock_allocations_open ON stock_allocations(sku_id, channel) WHERE state = 'open';
CREATE INDEX stock_allocations_sku ON stock_allocations(sku_id, id);

-- The allocation a hold was taken from, if any.
ALTER TABLE reservations ADD COLUMN allocation_id INTEGER;
