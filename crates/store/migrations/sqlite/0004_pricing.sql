-- Coupons and member spend (SQLite). Keep in step with ../postgres/0004_pricing.sql:
-- same tables, same columns, same meaning.

-- A coupon campaign and its running totals (redemptions, discount given).
-- The totals are bumped by conditional UPDATEs, so budgets hold under races.
CREATE TABLE campaigns (
    id                    INTEGER PRIMARY KEY,
    name                  TEXT    NOT NULL,
    currency              TEXT    NOT NULL,
    discount_kind         TEXT    NOT NULL,          -- percent_off | amount_off
    discount_value        INTEGER NOT NULL,          -- bps, or minor units
    min_spend_minor       INTEGER NOT NULL DEFAULT 0,
    max_discount_minor    INTEGER,                   -- cap per redemption
    channel               TEXT    NOT NULL,          -- online | in_store | any
    starts_at_ms          INTEGER NOT NULL,
    ends_at_ms            INTEGER NOT NULL,
    max_redemptions       INTEGER,
    budget_minor          INTEGER,
    per_buyer_limit       INTEGER,
    code_kind             TEXT    NOT NULL,          -- single_use | shared
    stackable             INTEGER NOT NULL,
    redemptions           INTEGER NOT NULL DEFAULT 0 CHECK (redemptions >= 0),
    discount_spent_minor  INTEGER NOT NULL DEFAULT 0 CHECK (discount_spent_minor >= 0),
    created_by            INTEGER NOT NULL REFERENCES accounts(id),
    created_at_ms         INTEGER NOT NULL,
    CHECK (max_redemptions IS NULL OR redemptions <= max_redemptions),
    CHECK (budget_minor IS NULL OR discount_spent_minor <= budget_minor)
);

-- Codes: one row for a shared code, one per single-use code. A single-use
-- code is issued when generated (or to one holder); `redeemed` goes 0 -> 1 once.
CREATE TABLE coupon_codes (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    code            TEXT    NOT NULL UNIQUE,
    single_use      INTEGER NOT NULL,
    holder_id       INTEGER REFERENCES accounts(id),
    issued_channel  TEXT    NOT NULL,
    issued_at_ms    INTEGER NOT NULL,
    redeemed        INTEGER NOT NULL DEFAULT 0,
    CHECK (single_use = 0 OR redeemed <= 1)
);
CREATE INDEX coupon_codes_campaign ON coupon_codes(campaign_id, id);
CREATE INDEX coupon_codes_holder ON coupon_codes(holder_id);

-- Buyers who collected a shared code (the "issued" side of a shared campaign).
CREATE TABLE coupon_claims (
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    account_id      INTEGER NOT NULL REFERENCES accounts(id),
    channel         TEXT    NOT NULL,
    claimed_at_ms   INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, account_id)
);
CREATE INDEX coupon_claims_account ON coupon_claims(account_id);

-- Per-buyer use counters, bumped by a conditional upsert.
CREATE TABLE coupon_buyer_uses (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns(id),
    account_id   INTEGER NOT NULL REFERENCES accounts(id),
    uses         INTEGER NOT NULL CHECK (uses >= 0),
    PRIMARY KEY (campaign_id, account_id)
);

-- Append-only: every redemption; a void (order cancelled) is stamped, never deleted.
CREATE TABLE coupon_redemptions (
    id              INTEGER PRIMARY KEY,
    campaign_id     INTEGER NOT NULL REFERENCES campaigns(id),
    code_id         INTEGER NOT NULL REFERENCES coupon_codes(id),
    buyer_id        INTEGER REFERENCES accounts(id),
    channel         TEXT    NOT NULL,
    location_id     INTEGER REFERENCES locations(id),
    currency        TEXT    NOT NULL,
    discount_minor  INTEGER NOT NULL CHECK (discount_minor >= 0),
    order_ref       TEXT    NOT NULL,
    issued_at_ms    INTEGER NOT NULL,
    created_at_ms   INTEGER NOT NULL,
    voided_at_ms    INTEGER
);
CREATE INDEX coupon_redemptions_campaign ON coupon_redemptions(campaign_id, id);
CREATE INDEX coupon_redemptions_order ON coupon_redemptions(order_ref);

-- Append-only: what members paid (orders on payment, POS sales), for tiers.
-- `source_ref` makes recording a payment idempotent; refunds are negative rows.
CREATE TABLE member_spend (
    id            INTEGER PRIMARY KEY,
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    currency      TEXT    NOT NULL,
    amount_minor  INTEGER NOT NULL,
    source_ref    TEXT    NOT NULL UNIQUE,
    at_ms         INTEGER NOT NULL
);
CREATE INDEX member_spend_account ON member_spend(account_id, at_ms);
