-- Channel allocations (PostgreSQL). Keep in step with ../sqlite/0006_allocations.sql.

-- Units of a SKU (across all locations that ship) set aside for one channel
-- key, e.g. 'livestream:room:42'. They move no stock; they cap what the
-- channel may take and keep other channels off the remaining units.
CREATE TABLE stock_allocations (
    id              BIGINT PRIMARY KEY,
    sku_id          BIGINT  NOT NULL REFERENCES skus(id),
    channel         TEXT    NOT NULL,
    qty             BIGINT  NOT NULL CHECK (qty > 0),
    -- Units held or shipped through it; holds released while open are given back.
    taken           BIGINT  NOT NULL CHECK (taken >= 0),
    state           TEXT    NOT NULL CHECK (state IN ('open', 'closed')),
    -- Untaken units returned to the pool when it closed.
    returned        BIGINT  NOT NULL DEFAULT 0 CHECK (returned >= 0),
    note            TEXT    NOT NULL DEFAULT '',
    created_by      BIGINT  NOT NULL,
    closed_by       BIGINT,
    created_at_ms   BIGINT  NOT NULL,
    closed_at_ms    BIGINT,
    CHECK (taken <= qty)
);
-- One open allocation per SKU and channel.
CREATE UNIQUE INDEX stock_allocations_open ON stock_allocations(sku_id, channel) WHERE state = 'open';
CREATE INDEX stock_allocations_sku ON stock_allocations(sku_id, id);

-- The allocation a hold was taken from, if any.
ALTER TABLE reservations ADD COLUMN allocation_id BIGINT;
