-- Carts with coupon codes, POS receipts and the walk-in customer (SQLite).
-- Keep in step with ../postgres/0005_pos_carts.sql: same tables, same meaning.

-- The codes a buyer put on their cart, space-separated (checked again at checkout).
ALTER TABLE carts ADD COLUMN codes TEXT NOT NULL DEFAULT '';
-- One open cart per buyer: two racing "add to cart" calls cannot make two.
CREATE UNIQUE INDEX carts_open ON carts(buyer_id) WHERE order_id IS NULL;

-- A POS sale to nobody in particular is an order of this account. It is
-- disabled and has no credentials: nobody signs in as it or sees its orders.
INSERT INTO accounts (id, display_name, disabled, created_at_ms)
VALUES (0, 'Walk-in customer', 1, 0);

-- What the till needs besides the order: who rang it up, cash handed over.
CREATE TABLE pos_receipts (
    order_id        INTEGER PRIMARY KEY REFERENCES orders(id),
    location_id     INTEGER NOT NULL REFERENCES locations(id),
    clerk_id        INTEGER NOT NULL REFERENCES accounts(id),
    member_id       INTEGER REFERENCES accounts(id),
    tendered_minor  INTEGER,
    change_minor    INTEGER,
    codes           TEXT    NOT NULL DEFAULT '',
    created_at_ms   INTEGER NOT NULL
);
CREATE INDEX pos_receipts_location ON pos_receipts(location_id, order_id);
