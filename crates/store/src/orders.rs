//! Orders, payment intents, webhook deliveries and the double-entry ledger.
//!
//! State changes are compare-and-set (`... WHERE id = $1 AND state = $2`):
//! the caller learns from the row count whether it won, so two racing
//! requests cannot both move an order or capture a payment.

use crate::error::{StoreError, StoreResult};
use crate::sql::SqlBuilder;
use souk_core::ids::{
    AccountId, CartId, FulfilmentId, LedgerTxnId, LocationId, OrderId, PaymentIntentId, RoomId,
    ShopId, SkuId, StoredCardId, SupplierId,
};
use souk_core::ledger::{LedgerAccount, Posting, TxnKind};
use souk_core::money::Currency;
use souk_core::order::{Attribution, Channel, OrderState};
use souk_core::payment::{IntentState, Method};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Executor, Row};

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

fn currency(s: &str) -> StoreResult<Currency> {
    Currency::parse(s).map_err(|_| corrupt(format!("currency {s}")))
}

// ---------------------------------------------------------------- carts

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartRow {
    pub id: CartId,
    pub buyer: AccountId,
    pub currency: Currency,
    pub order_id: Option<OrderId>,
    pub lines: Vec<(SkuId, i64)>,
    /// Coupon codes the buyer put on the cart.
    pub codes: Vec<String>,
    pub updated_at_ms: i64,
}

pub async fn insert_cart(
    conn: &mut AnyConnection,
    buyer: AccountId,
    currency: Currency,
    now: i64,
) -> StoreResult<CartId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO carts (buyer_id, currency, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $3) RETURNING id",
    )
    .bind(buyer.0)
    .bind(currency.code())
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(CartId(id))
}

pub async fn cart(conn: &mut AnyConnection, id: CartId) -> StoreResult<Option<CartRow>> {
    let Some(r) = sqlx::query(
        "SELECT id, buyer_id, currency, order_id, codes, updated_at_ms FROM carts WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    let lines =
        sqlx::query("SELECT sku_id, qty FROM cart_lines WHERE cart_id = $1 ORDER BY sku_id")
            .bind(id.0)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|l| Ok((SkuId(l.try_get("sku_id")?), l.try_get("qty")?)))
            .collect::<StoreResult<Vec<_>>>()?;
    let cur: String = r.try_get("currency")?;
    let codes: String = r.try_get("codes")?;
    Ok(Some(CartRow {
        id,
        buyer: AccountId(r.try_get("buyer_id")?),
        currency: currency(&cur)?,
        order_id: r.try_get::<Option<i64>, _>("order_id")?.map(OrderId),
        lines,
        codes: codes.split_whitespace().map(str::to_owned).collect(),
        updated_at_ms: r.try_get("updated_at_ms")?,
    }))
}

/// The buyer's open cart, made on first use. The partial unique index
/// `carts_open` keeps it to one even when two requests race to make it.
pub async fn open_cart(
    conn: &mut AnyConnection,
    buyer: AccountId,
    currency: Currency,
    now: i64,
) -> StoreResult<CartId> {
    sqlx::query(
        "INSERT INTO carts (buyer_id, currency, created_at_ms, updated_at_ms) VALUES ($1, $2, $3, $3) \
         ON CONFLICT (buyer_id) WHERE order_id IS NULL DO NOTHING",
    )
    .bind(buyer.0)
    .bind(currency.code())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let id: i64 =
        sqlx::query_scalar("SELECT id FROM carts WHERE buyer_id = $1 AND order_id IS NULL")
            .bind(buyer.0)
            .fetch_one(&mut *conn)
            .await?;
    Ok(CartId(id))
}

/// The buyer's open cart, if any (reads never make one).
pub async fn open_cart_id(
    conn: &mut AnyConnection,
    buyer: AccountId,
) -> StoreResult<Option<CartId>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM carts WHERE buyer_id = $1 AND order_id IS NULL")
            .bind(buyer.0)
            .fetch_optional(&mut *conn)
            .await?
            .map(CartId),
    )
}

/// Replaces the cart's coupon codes.
pub async fn set_cart_codes(
    conn: &mut AnyConnection,
    cart: CartId,
    codes: &[String],
    now: i64,
) -> StoreResult<()> {
    sqlx::query("UPDATE carts SET codes = $1, updated_at_ms = $2 WHERE id = $3")
        .bind(codes.join(" "))
        .bind(now)
        .bind(cart.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets a line's quantity; 0 removes it.
pub async fn set_cart_line(
    conn: &mut AnyConnection,
    cart: CartId,
    sku: SkuId,
    qty: i64,
    now: i64,
) -> StoreResult<()> {
    if qty == 0 {
        sqlx::query("DELETE FROM cart_lines WHERE cart_id = $1 AND sku_id = $2")
            .bind(cart.0)
            .bind(sku.0)
            .execute(&mut *conn)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO cart_lines (cart_id, sku_id, qty) VALUES ($1, $2, $3) \
             ON CONFLICT (cart_id, sku_id) DO UPDATE SET qty = excluded.qty",
        )
        .bind(cart.0)
        .bind(sku.0)
        .bind(qty)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE carts SET updated_at_ms = $1 WHERE id = $2")
        .bind(now)
        .bind(cart.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a cart checked out; false when it already was (a racing checkout).
pub async fn close_cart(
    conn: &mut AnyConnection,
    cart: CartId,
    order: OrderId,
    now: i64,
) -> StoreResult<bool> {
    let n = sqlx::query(
        "UPDATE carts SET order_id = $1, updated_at_ms = $2 WHERE id = $3 AND order_id IS NULL",
    )
    .bind(order.0)
    .bind(now)
    .bind(cart.0)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

// ---------------------------------------------------------------- orders

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRow {
    pub id: OrderId,
    pub buyer: AccountId,
    pub channel: Channel,
    pub state: OrderState,
    /// `deliver`, `pickup` or `in_store`.
    pub fulfilment_kind: String,
    pub currency: Currency,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
    pub attribution: Attribution,
    /// The store an in-store order (POS, scan-to-order) was placed at.
    pub origin_location: Option<LocationId>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const ORDER_COLUMNS: &str = "id, buyer_id, channel, state, fulfilment_kind, currency, subtotal_minor, \
    discount_minor, shipping_minor, tax_minor, total_minor, captured_minor, refunded_minor, shop_id, \
    streamer_id, room_id, origin_location, created_at_ms, updated_at_ms";

fn order_from(r: &AnyRow) -> StoreResult<OrderRow> {
    let channel: String = r.try_get("channel")?;
    let state: String = r.try_get("state")?;
    let cur: String = r.try_get("currency")?;
    Ok(OrderRow {
        id: OrderId(r.try_get("id")?),
        buyer: AccountId(r.try_get("buyer_id")?),
        channel: Channel::parse(&channel).ok_or_else(|| corrupt(format!("channel {channel}")))?,
        state: OrderState::parse(&state).ok_or_else(|| corrupt(format!("order state {state}")))?,
        fulfilment_kind: r.try_get("fulfilment_kind")?,
        currency: currency(&cur)?,
        subtotal_minor: r.try_get("subtotal_minor")?,
        discount_minor: r.try_get("discount_minor")?,
        shipping_minor: r.try_get("shipping_minor")?,
        tax_minor: r.try_get("tax_minor")?,
        total_minor: r.try_get("total_minor")?,
        captured_minor: r.try_get("captured_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        attribution: Attribution {
            shop_id: r.try_get::<Option<i64>, _>("shop_id")?.map(ShopId),
            streamer_id: r.try_get::<Option<i64>, _>("streamer_id")?.map(AccountId),
            room_id: r.try_get::<Option<i64>, _>("room_id")?.map(RoomId),
        },
        origin_location: r
            .try_get::<Option<i64>, _>("origin_location")?
            .map(LocationId),
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRow {
    pub id: i64,
    pub order_id: OrderId,
    pub fulfilment_id: FulfilmentId,
    pub location: LocationId,
    pub sku: SkuId,
    pub supplier: SupplierId,
    pub qty: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub reservation_id: i64,
}

fn line_from(r: &AnyRow) -> StoreResult<LineRow> {
    Ok(LineRow {
        id: r.try_get("id")?,
        order_id: OrderId(r.try_get("order_id")?),
        fulfilment_id: FulfilmentId(r.try_get("fulfilment_id")?),
        location: LocationId(r.try_get("location_id")?),
        sku: SkuId(r.try_get("sku_id")?),
        supplier: SupplierId(r.try_get("supplier_id")?),
        qty: r.try_get("qty")?,
        unit_price_minor: r.try_get("unit_price_minor")?,
        amount_minor: r.try_get("amount_minor")?,
        reservation_id: r.try_get("reservation_id")?,
    })
}

/// A new order: its row, and its lines with the location each was reserved at.
pub struct NewOrder {
    pub order: OrderRow,
    pub lines: Vec<LineRow>,
}

/// Inserts an order, one fulfilment per location, its lines and its first
/// event. Ids in `n` are ignored; the new order id is returned.
pub async fn insert_order(
    conn: &mut AnyConnection,
    n: &NewOrder,
    actor: Option<AccountId>,
) -> StoreResult<OrderId> {
    let o = &n.order;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (buyer_id, channel, state, fulfilment_kind, currency, subtotal_minor, discount_minor, \
         shipping_minor, tax_minor, total_minor, shop_id, streamer_id, room_id, origin_location, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id",
    )
    .bind(o.buyer.0)
    .bind(o.channel.as_str())
    .bind(o.state.as_str())
    .bind(o.fulfilment_kind.clone())
    .bind(o.currency.code())
    .bind(o.subtotal_minor)
    .bind(o.discount_minor)
    .bind(o.shipping_minor)
    .bind(o.tax_minor)
    .bind(o.total_minor)
    .bind(o.attribution.shop_id.map(|x| x.0))
    .bind(o.attribution.streamer_id.map(|x| x.0))
    .bind(o.attribution.room_id.map(|x| x.0))
    .bind(o.origin_location.map(|x| x.0))
    .bind(o.created_at_ms)
    .fetch_one(&mut *conn)
    .await?;
    let locations: Vec<LocationId> = n.lines.iter().map(|l| l.location).collect();
    let plans = souk_core::order::split_fulfilment(&locations);
    for plan in plans {
        let fid: i64 = sqlx::query_scalar(
            "INSERT INTO fulfilments (order_id, location_id) VALUES ($1, $2) RETURNING id",
        )
        .bind(id)
        .bind(plan.location.0)
        .fetch_one(&mut *conn)
        .await?;
        for i in plan.lines {
            let Some(l) = n.lines.get(i) else { continue };
            sqlx::query(
                "INSERT INTO order_lines (order_id, fulfilment_id, sku_id, supplier_id, qty, unit_price_minor, amount_minor, reservation_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(id)
            .bind(fid)
            .bind(l.sku.0)
            .bind(l.supplier.0)
            .bind(l.qty)
            .bind(l.unit_price_minor)
            .bind(l.amount_minor)
            .bind(l.reservation_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    insert_event(
        conn,
        OrderId(id),
        None,
        o.state,
        "place",
        actor,
        "",
        o.created_at_ms,
    )
    .await?;
    Ok(OrderId(id))
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_event(
    conn: &mut AnyConnection,
    order: OrderId,
    from: Option<OrderState>,
    to: OrderState,
    command: &str,
    actor: Option<AccountId>,
    note: &str,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO order_events (order_id, from_state, to_state, command, actor_id, note, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(order.0)
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(command.to_owned())
    .bind(actor.map(|a| a.0))
    .bind(note.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves an order from `from` to `to` if it is still `from`; false if another request won.
pub async fn move_order(
    conn: &mut AnyConnection,
    order: OrderId,
    from: OrderState,
    to: OrderState,
    now: i64,
) -> StoreResult<bool> {
    let n = sqlx::query(
        "UPDATE orders SET state = $1, updated_at_ms = $2 WHERE id = $3 AND state = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(order.0)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// Adds to an order's captured and refunded totals.
pub async fn add_order_money(
    conn: &mut AnyConnection,
    order: OrderId,
    captured: i64,
    refunded: i64,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE orders SET captured_minor = captured_minor + $1, refunded_minor = refunded_minor + $2 WHERE id = $3",
    )
    .bind(captured)
    .bind(refunded)
    .bind(order.0)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn order<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: OrderId,
) -> StoreResult<Option<OrderRow>> {
    sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(ex)
        .await?
        .as_ref()
        .map(order_from)
        .transpose()
}

pub async fn lines<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    order: OrderId,
) -> StoreResult<Vec<LineRow>> {
    sqlx::query(
        "SELECT l.id, l.order_id, l.fulfilment_id, f.location_id, l.sku_id, l.supplier_id, l.qty, \
         l.unit_price_minor, l.amount_minor, l.reservation_id \
         FROM order_lines l JOIN fulfilments f ON f.id = l.fulfilment_id WHERE l.order_id = $1 ORDER BY l.id",
    )
    .bind(order.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(line_from)
    .collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub from: Option<String>,
    pub to: String,
    pub command: String,
    pub actor: Option<AccountId>,
    pub note: String,
    pub created_at_ms: i64,
}

pub async fn events<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    order: OrderId,
) -> StoreResult<Vec<EventRow>> {
    sqlx::query(
        "SELECT from_state, to_state, command, actor_id, note, created_at_ms FROM order_events \
         WHERE order_id = $1 ORDER BY id",
    )
    .bind(order.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(|r| {
        Ok(EventRow {
            from: r.try_get("from_state")?,
            to: r.try_get("to_state")?,
            command: r.try_get("command")?,
            actor: r.try_get::<Option<i64>, _>("actor_id")?.map(AccountId),
            note: r.try_get("note")?,
            created_at_ms: r.try_get("created_at_ms")?,
        })
    })
    .collect()
}

/// Who may list which orders.
#[derive(Debug, Clone, Default)]
pub struct OrderScope {
    pub all: bool,
    pub buyer: Option<AccountId>,
    pub suppliers: Vec<SupplierId>,
    pub stores: Vec<LocationId>,
}

/// Ids of orders in `scope`, newest first, below `before` (0 = from the top).
pub async fn order_ids<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    scope: &OrderScope,
    before: i64,
    limit: u32,
) -> StoreResult<Vec<OrderId>> {
    let mut q = SqlBuilder::new("SELECT o.id FROM orders o WHERE ");
    let mut ors: Vec<String> = Vec::new();
    if scope.all {
        ors.push("1 = 1".into());
    }
    if let Some(b) = scope.buyer {
        ors.push(format!("o.buyer_id = {}", q.bind(b.0)?));
    }
    for s in &scope.suppliers {
        ors.push(format!(
            "EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.supplier_id = {})",
            q.bind(s.0)?
        ));
    }
    for s in &scope.stores {
        let p = q.bind(s.0)?;
        ors.push(format!(
            "(o.origin_location = {p} OR EXISTS (SELECT 1 FROM fulfilments f WHERE f.order_id = o.id AND f.location_id = {p}))"
        ));
    }
    if ors.is_empty() {
        return Ok(Vec::new());
    }
    q.text.push_str(&format!("({})", ors.join(" OR ")));
    if before > 0 {
        let p = q.bind(before)?;
        q.text.push_str(&format!(" AND o.id < {p}"));
    }
    let p = q.bind(i64::from(limit))?;
    q.text.push_str(&format!(" ORDER BY o.id DESC LIMIT {p}"));
    sqlx::query_with(&q.text, q.args)
        .fetch_all(ex)
        .await?
        .iter()
        .map(|r| Ok(OrderId(r.try_get("id")?)))
        .collect()
}

/// Orders still waiting for payment, created before `before_ms`.
pub async fn unpaid_before<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    before_ms: i64,
    limit: u32,
) -> StoreResult<Vec<OrderId>> {
    sqlx::query(
        "SELECT id FROM orders WHERE state = 'pending_payment' AND created_at_ms < $1 ORDER BY id LIMIT $2",
    )
    .bind(before_ms)
    .bind(i64::from(limit))
    .fetch_all(ex)
    .await?
    .iter()
    .map(|r| Ok(OrderId(r.try_get("id")?)))
    .collect()
}

// ---------------------------------------------------------------- payments

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntentRow {
    pub id: PaymentIntentId,
    pub order_id: OrderId,
    pub buyer: AccountId,
    pub method: Method,
    pub state: IntentState,
    pub currency: Currency,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    pub provider_ref: String,
    pub stored_card: Option<StoredCardId>,
    pub take_rate_bps: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

const INTENT_COLUMNS: &str =
    "id, order_id, buyer_id, method, state, currency, amount_minor, refunded_minor, \
    provider_ref, stored_card_id, take_rate_bps, created_at_ms, updated_at_ms";

fn intent_from(r: &AnyRow) -> StoreResult<IntentRow> {
    let method: String = r.try_get("method")?;
    let state: String = r.try_get("state")?;
    let cur: String = r.try_get("currency")?;
    Ok(IntentRow {
        id: PaymentIntentId(r.try_get("id")?),
        order_id: OrderId(r.try_get("order_id")?),
        buyer: AccountId(r.try_get("buyer_id")?),
        method: Method::parse(&method).ok_or_else(|| corrupt(format!("method {method}")))?,
        state: IntentState::parse(&state)
            .ok_or_else(|| corrupt(format!("intent state {state}")))?,
        currency: currency(&cur)?,
        amount_minor: r.try_get("amount_minor")?,
        refunded_minor: r.try_get("refunded_minor")?,
        provider_ref: r.try_get("provider_ref")?,
        stored_card: r
            .try_get::<Option<i64>, _>("stored_card_id")?
            .map(StoredCardId),
        take_rate_bps: r.try_get("take_rate_bps")?,
        created_at_ms: r.try_get("created_at_ms")?,
        updated_at_ms: r.try_get("updated_at_ms")?,
    })
}

pub async fn insert_intent(
    conn: &mut AnyConnection,
    i: &IntentRow,
) -> StoreResult<PaymentIntentId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payment_intents (order_id, buyer_id, method, state, currency, amount_minor, refunded_minor, \
         provider_ref, stored_card_id, take_rate_bps, created_at_ms, updated_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(i.order_id.0)
    .bind(i.buyer.0)
    .bind(i.method.as_str())
    .bind(i.state.as_str())
    .bind(i.currency.code())
    .bind(i.amount_minor)
    .bind(i.provider_ref.clone())
    .bind(i.stored_card.map(|c| c.0))
    .bind(i.take_rate_bps)
    .bind(i.created_at_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(PaymentIntentId(id))
}

pub async fn intent<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: PaymentIntentId,
) -> StoreResult<Option<IntentRow>> {
    sqlx::query(&format!(
        "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE id = $1"
    ))
    .bind(id.0)
    .fetch_optional(ex)
    .await?
    .as_ref()
    .map(intent_from)
    .transpose()
}

pub async fn intent_by_ref<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    provider_ref: &str,
) -> StoreResult<Option<IntentRow>> {
    sqlx::query(&format!(
        "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE provider_ref = $1"
    ))
    .bind(provider_ref.to_owned())
    .fetch_optional(ex)
    .await?
    .as_ref()
    .map(intent_from)
    .transpose()
}

pub async fn intents_of_order<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    order: OrderId,
) -> StoreResult<Vec<IntentRow>> {
    sqlx::query(&format!(
        "SELECT {INTENT_COLUMNS} FROM payment_intents WHERE order_id = $1 ORDER BY id"
    ))
    .bind(order.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(intent_from)
    .collect()
}

/// Moves an intent if it is still in `from`; false when another request won the race.
pub async fn move_intent(
    conn: &mut AnyConnection,
    id: PaymentIntentId,
    from: IntentState,
    to: IntentState,
    refunded_minor: i64,
    now: i64,
) -> StoreResult<bool> {
    let n = sqlx::query(
        "UPDATE payment_intents SET state = $1, refunded_minor = $2, updated_at_ms = $3 \
         WHERE id = $4 AND state = $5",
    )
    .bind(to.as_str())
    .bind(refunded_minor)
    .bind(now)
    .bind(id.0)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

#[allow(clippy::too_many_arguments)]
pub async fn insert_payment_event(
    conn: &mut AnyConnection,
    intent: PaymentIntentId,
    from: IntentState,
    to: IntentState,
    amount_minor: i64,
    source: &str,
    actor: Option<AccountId>,
    now: i64,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO payment_events (intent_id, from_state, to_state, amount_minor, source, actor_id, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(intent.0)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(amount_minor)
    .bind(source.to_owned())
    .bind(actor.map(|a| a.0))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Payment events of an intent whose target is `to` (tests count captures with it).
pub async fn count_payment_events<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    intent: PaymentIntentId,
    to: IntentState,
) -> StoreResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_events WHERE intent_id = $1 AND to_state = $2",
    )
    .bind(intent.0)
    .bind(to.as_str())
    .fetch_one(ex)
    .await?)
}

/// Records a webhook delivery; false when this event id was seen before.
pub async fn record_delivery(
    conn: &mut AnyConnection,
    provider: &str,
    event_id: &str,
    intent: Option<PaymentIntentId>,
    outcome: &str,
    now: i64,
) -> StoreResult<bool> {
    let n = sqlx::query(
        "INSERT INTO webhook_deliveries (provider, event_id, intent_id, outcome, received_at_ms) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, event_id) DO NOTHING",
    )
    .bind(provider.to_owned())
    .bind(event_id.to_owned())
    .bind(intent.map(|i| i.0))
    .bind(outcome.to_owned())
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

// ---------------------------------------------------------------- stored cards

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCardRow {
    pub id: StoredCardId,
    pub buyer: AccountId,
    pub provider_token: String,
    pub brand: String,
    pub last4: String,
    pub revoked: bool,
    pub created_at_ms: i64,
}

fn card_from(r: &AnyRow) -> StoreResult<StoredCardRow> {
    Ok(StoredCardRow {
        id: StoredCardId(r.try_get("id")?),
        buyer: AccountId(r.try_get("buyer_id")?),
        provider_token: r.try_get("provider_token")?,
        brand: r.try_get("brand")?,
        last4: r.try_get("last4")?,
        revoked: r.try_get::<i64, _>("revoked")? != 0,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

pub async fn insert_card(conn: &mut AnyConnection, c: &StoredCardRow) -> StoreResult<StoredCardId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO stored_cards (buyer_id, provider_token, brand, last4, revoked, created_at_ms) \
         VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
    )
    .bind(c.buyer.0)
    .bind(c.provider_token.clone())
    .bind(c.brand.clone())
    .bind(c.last4.clone())
    .bind(c.created_at_ms)
    .fetch_one(&mut *conn)
    .await?;
    Ok(StoredCardId(id))
}

pub async fn cards_of<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    buyer: AccountId,
) -> StoreResult<Vec<StoredCardRow>> {
    sqlx::query(
        "SELECT id, buyer_id, provider_token, brand, last4, revoked, created_at_ms FROM stored_cards \
         WHERE buyer_id = $1 AND revoked = 0 ORDER BY id",
    )
    .bind(buyer.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(card_from)
    .collect()
}

pub async fn card<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: StoredCardId,
) -> StoreResult<Option<StoredCardRow>> {
    sqlx::query(
        "SELECT id, buyer_id, provider_token, brand, last4, revoked, created_at_ms FROM stored_cards WHERE id = $1",
    )
    .bind(id.0)
    .fetch_optional(ex)
    .await?
    .as_ref()
    .map(card_from)
    .transpose()
}

// ---------------------------------------------------------------- ledger

/// Appends one balanced transaction (the caller built it with `souk_core::ledger`).
pub async fn insert_txn(
    conn: &mut AnyConnection,
    kind: TxnKind,
    order: Option<OrderId>,
    intent: Option<PaymentIntentId>,
    postings: &[Posting],
    now: i64,
) -> StoreResult<LedgerTxnId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO ledger_txns (kind, order_id, intent_id, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(kind.as_str())
    .bind(order.map(|o| o.0))
    .bind(intent.map(|i| i.0))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    let mut q = SqlBuilder::new(
        "INSERT INTO ledger_postings (txn_id, account_kind, account_party, currency, amount_minor) VALUES ",
    );
    let mut rows = Vec::with_capacity(postings.len());
    for p in postings {
        let (kind, party) = p.account.to_row();
        let v = [
            q.bind(id)?,
            q.bind(kind.to_owned())?,
            q.bind(party)?,
            q.bind(p.currency.code().to_owned())?,
            q.bind(p.amount_minor)?,
        ];
        rows.push(format!("({})", v.join(", ")));
    }
    if !rows.is_empty() {
        q.text.push_str(&rows.join(", "));
        sqlx::query_with(&q.text, q.args)
            .execute(&mut *conn)
            .await?;
    }
    Ok(LedgerTxnId(id))
}

fn posting_from(r: &AnyRow) -> StoreResult<Posting> {
    let kind: String = r.try_get("account_kind")?;
    let party: i64 = r.try_get("account_party")?;
    let cur: String = r.try_get("currency")?;
    Ok(Posting {
        account: LedgerAccount::from_row(&kind, party)
            .ok_or_else(|| corrupt(format!("ledger account {kind}")))?,
        currency: currency(&cur)?,
        amount_minor: r.try_get("amount_minor")?,
    })
}

/// Sum of postings per (currency, account).
pub async fn trial_balance<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<Posting>> {
    sqlx::query(
        "SELECT account_kind, account_party, currency, CAST(SUM(amount_minor) AS BIGINT) AS amount_minor FROM ledger_postings \
         GROUP BY account_kind, account_party, currency ORDER BY currency, account_kind, account_party",
    )
    .fetch_all(ex)
    .await?
    .iter()
    .map(posting_from)
    .collect()
}

/// Every posting of an order's transactions.
pub async fn postings_of_order<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    order: OrderId,
) -> StoreResult<Vec<(String, Posting)>> {
    sqlx::query(
        "SELECT t.kind, p.account_kind, p.account_party, p.currency, p.amount_minor FROM ledger_postings p \
         JOIN ledger_txns t ON t.id = p.txn_id WHERE t.order_id = $1 ORDER BY p.id",
    )
    .bind(order.0)
    .fetch_all(ex)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("kind")?, posting_from(r)?)))
    .collect()
}

/// Transactions whose postings do not sum to zero per currency (should be none).
pub async fn unbalanced_txns<'e, E: Executor<'e, Database = Any>>(
    ex: E,
) -> StoreResult<Vec<LedgerTxnId>> {
    sqlx::query(
        "SELECT txn_id FROM ledger_postings GROUP BY txn_id, currency HAVING SUM(amount_minor) <> 0",
    )
    .fetch_all(ex)
    .await?
    .iter()
    .map(|r| Ok(LedgerTxnId(r.try_get("txn_id")?)))
    .collect()
}

// ---------------------------------------------------------------- POS receipts

/// What the till adds to a POS order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PosReceiptRow {
    pub order_id: OrderId,
    pub location: LocationId,
    pub clerk: AccountId,
    pub member: Option<AccountId>,
    pub tendered_minor: Option<i64>,
    pub change_minor: Option<i64>,
    pub codes: Vec<String>,
    pub created_at_ms: i64,
}

pub async fn insert_pos_receipt(conn: &mut AnyConnection, r: &PosReceiptRow) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO pos_receipts (order_id, location_id, clerk_id, member_id, tendered_minor, \
         change_minor, codes, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(r.order_id.0)
    .bind(r.location.0)
    .bind(r.clerk.0)
    .bind(r.member.map(|m| m.0))
    .bind(r.tendered_minor)
    .bind(r.change_minor)
    .bind(r.codes.join(" "))
    .bind(r.created_at_ms)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn pos_receipt<'c, E>(conn: E, order: OrderId) -> StoreResult<Option<PosReceiptRow>>
where
    E: Executor<'c, Database = Any>,
{
    let Some(r) = sqlx::query(
        "SELECT order_id, location_id, clerk_id, member_id, tendered_minor, change_minor, codes, \
         created_at_ms FROM pos_receipts WHERE order_id = $1",
    )
    .bind(order.0)
    .fetch_optional(conn)
    .await?
    else {
        return Ok(None);
    };
    let codes: String = r.try_get("codes")?;
    Ok(Some(PosReceiptRow {
        order_id: OrderId(r.try_get("order_id")?),
        location: LocationId(r.try_get("location_id")?),
        clerk: AccountId(r.try_get("clerk_id")?),
        member: r.try_get::<Option<i64>, _>("member_id")?.map(AccountId),
        tendered_minor: r.try_get("tendered_minor")?,
        change_minor: r.try_get("change_minor")?,
        codes: codes.split_whitespace().map(str::to_owned).collect(),
        created_at_ms: r.try_get("created_at_ms")?,
    }))
}
