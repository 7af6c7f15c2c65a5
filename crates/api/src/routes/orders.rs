//! Orders (M3) and payments (M4): checkout, order views and transitions,
//! payment confirmation, refunds, wallet webhooks, stored cards and the
//! ledger's trial balance. Thin: the rules are in the core, the work in
//! `souk_engine::orders`.

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path, Query};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use souk_core::error::DomainError;
use souk_core::ids::{LocationId, OrderId, PaymentIntentId, SkuId, StoredCardId};
use souk_core::money::Currency;
use souk_core::order::{Channel, LineRequest, OrderCommand};
use souk_core::page::page_size;
use souk_core::payment::Method;
use souk_engine::orders::{CheckoutRequest, Handover, OrderView};
use souk_engine::payments::{NextAction, SIGNATURE_HEADER};
use souk_store::orders::{IntentRow, StoredCardRow};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(checkout))
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(transition))
        .routes(routes!(order_ledger))
        .routes(routes!(get_payment))
        .routes(routes!(confirm_payment))
        .routes(routes!(payment_return))
        .routes(routes!(refund_payment))
        .routes(routes!(webhook))
        .routes(routes!(sandbox_approve))
        .routes(routes!(save_card, list_cards))
        .routes(routes!(trial_balance))
}

// ---------------------------------------------------------------- shapes

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LineIn {
    pub sku_id: i64,
    pub qty: i64,
}

/// Where the goods go.
#[derive(Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum HandoverIn {
    /// Delivered home; `region` helps routing pick a location near the buyer.
    Deliver {
        #[serde(default)]
        region: String,
    },
    /// Collected at a store.
    Pickup { store_id: i64 },
}

/// A checkout. Prices are never sent: the server prices every line.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutIn {
    pub lines: Vec<LineIn>,
    /// `web` (default), `app` or `scan_to_order`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Defaults to the market's currency (CNY).
    #[serde(default)]
    pub currency: Option<String>,
    pub fulfilment: HandoverIn,
    /// `alipay`, `wechat_pay`, `cash`, `card_terminal` or `stored_card`.
    pub payment_method: String,
    #[serde(default)]
    pub stored_card_id: Option<i64>,
    /// The store a scan-to-order was scanned in.
    #[serde(default)]
    pub origin_location_id: Option<i64>,
    /// Coupon codes to redeem with the order (checked and redeemed atomically).
    #[serde(default)]
    pub codes: Vec<String>,
}

impl From<HandoverIn> for Handover {
    fn from(h: HandoverIn) -> Self {
        match h {
            HandoverIn::Deliver { region } => Handover::DeliverHome { region },
            HandoverIn::Pickup { store_id } => Handover::Pickup {
                store: LocationId(store_id),
            },
        }
    }
}

/// A buyer's checkout channel: `web` unless named.
pub(crate) fn checkout_channel(c: Option<&str>) -> Result<Channel, DomainError> {
    match c {
        None => Ok(Channel::Web),
        Some(c) => {
            Channel::parse(c).ok_or_else(|| DomainError::invalid(format!("Unknown channel {c:?}.")))
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub sku_id: i64,
    pub supplier_id: i64,
    pub qty: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub location_id: i64,
    pub fulfilment_id: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    pub from: Option<String>,
    pub to: String,
    pub command: String,
    pub note: String,
    pub at_ms: i64,
}

#[derive(Serialize, ToSchema)]
pub struct FulfilmentOut {
    pub id: i64,
    pub location_id: i64,
    pub sku_ids: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Totals {
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub shipping_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub captured_minor: i64,
    pub refunded_minor: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Attribution {
    pub shop_id: Option<i64>,
    pub streamer_id: Option<i64>,
    pub room_id: Option<i64>,
}

/// An order as the caller may see it. A supplier sees only its own lines,
/// without totals, payments or history.
#[derive(Serialize, ToSchema)]
pub struct OrderOut {
    pub id: i64,
    pub state: String,
    pub channel: String,
    pub fulfilment_kind: String,
    pub currency: String,
    pub origin_location_id: Option<i64>,
    pub attribution: Attribution,
    pub lines: Vec<LineOut>,
    pub fulfilments: Vec<FulfilmentOut>,
    pub totals: Option<Totals>,
    pub payments: Vec<PaymentOut>,
    pub history: Vec<EventOut>,
    pub created_at_ms: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentOut {
    pub id: i64,
    pub order_id: i64,
    pub method: String,
    pub state: String,
    pub currency: String,
    pub amount_minor: i64,
    pub refunded_minor: i64,
    /// The reference the provider knows the payment by.
    pub provider_ref: String,
    /// While a QR-wallet payment waits for the payer: what to show them again
    /// (given by `GET /payments/{id}` only).
    pub qr_payload: Option<String>,
}

pub(crate) fn payment_out(i: &IntentRow) -> PaymentOut {
    PaymentOut {
        id: i.id.0,
        order_id: i.order_id.0,
        method: i.method.as_str().into(),
        state: i.state.as_str().into(),
        currency: i.currency.code().into(),
        amount_minor: i.amount_minor,
        refunded_minor: i.refunded_minor,
        provider_ref: i.provider_ref.clone(),
        qr_payload: None,
    }
}

pub(crate) fn order_out(v: &OrderView) -> OrderOut {
    let o = &v.order;
    let mut fulfilments: Vec<FulfilmentOut> = Vec::new();
    for l in &v.lines {
        match fulfilments.iter_mut().find(|f| f.id == l.fulfilment_id.0) {
            Some(f) => f.sku_ids.push(l.sku.0),
            None => fulfilments.push(FulfilmentOut {
                id: l.fulfilment_id.0,
                location_id: l.location.0,
                sku_ids: vec![l.sku.0],
            }),
        }
    }
    OrderOut {
        id: o.id.0,
        state: o.state.as_str().into(),
        channel: o.channel.as_str().into(),
        fulfilment_kind: o.fulfilment_kind.clone(),
        currency: o.currency.code().into(),
        origin_location_id: o.origin_location.map(|l| l.0),
        attribution: Attribution {
            shop_id: o.attribution.shop_id.map(|x| x.0),
            streamer_id: o.attribution.streamer_id.map(|x| x.0),
            room_id: o.attribution.room_id.map(|x| x.0),
        },
        lines: v
            .lines
            .iter()
            .map(|l| LineOut {
                sku_id: l.sku.0,
                supplier_id: l.supplier.0,
                qty: l.qty,
                unit_price_minor: l.unit_price_minor,
                amount_minor: l.amount_minor,
                location_id: l.location.0,
                fulfilment_id: l.fulfilment_id.0,
            })
            .collect(),
        fulfilments,
        totals: v.full.then_some(Totals {
            subtotal_minor: o.subtotal_minor,
            discount_minor: o.discount_minor,
            shipping_minor: o.shipping_minor,
            tax_minor: o.tax_minor,
            total_minor: o.total_minor,
            captured_minor: o.captured_minor,
            refunded_minor: o.refunded_minor,
        }),
        payments: v.intents.iter().map(payment_out).collect(),
        history: v
            .events
            .iter()
            .map(|e| EventOut {
                from: e.from.clone(),
                to: e.to.clone(),
                command: e.command.clone(),
                note: e.note.clone(),
                at_ms: e.created_at_ms,
            })
            .collect(),
        created_at_ms: o.created_at_ms,
    }
}

/// What checkout answers: the order, its payment and what the buyer does next.
#[derive(Serialize, ToSchema)]
pub struct CheckoutOut {
    pub order: OrderOut,
    pub payment: PaymentOut,
    /// `scan_qr` (with `qr_payload`), `pay_at_till`, `present_card` or `none`.
    #[schema(value_type = Object)]
    pub next_action: NextAction,
}

pub(crate) fn parse_method(s: &str) -> Result<Method, DomainError> {
    Method::parse(s).ok_or_else(|| {
        DomainError::invalid(format!(
            "Unknown payment_method {s:?}: use alipay, wechat_pay, cash, card_terminal or stored_card."
        ))
    })
}

// ---------------------------------------------------------------- orders

/// Checks out: prices the lines on the server, reserves the stock and creates
/// the order and its payment intent, all or nothing.
#[utoipa::path(post, path = "/api/v1/checkout", tag = "orders", security(("bearer" = [])), request_body = CheckoutIn,
    responses((status = 201, body = CheckoutOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn checkout(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CheckoutIn>,
) -> ApiResult<(StatusCode, Json<CheckoutOut>)> {
    let channel = checkout_channel(b.channel.as_deref())?;
    let currency = b.currency.as_deref().map(Currency::parse).transpose()?;
    let req = CheckoutRequest {
        lines: b
            .lines
            .iter()
            .map(|l| LineRequest {
                sku: SkuId(l.sku_id),
                qty: l.qty,
            })
            .collect(),
        currency,
        channel,
        handover: b.fulfilment.into(),
        method: parse_method(&b.payment_method)?,
        stored_card: b.stored_card_id.map(StoredCardId),
        origin_location: b.origin_location_id.map(LocationId),
        codes: b.codes,
        cart: None,
    };
    let c = s.services.orders.checkout(&p, req).await?;
    Ok((StatusCode::CREATED, Json(checkout_out(&c))))
}

pub(crate) fn checkout_out(c: &souk_engine::orders::Checkout) -> CheckoutOut {
    CheckoutOut {
        order: order_out(&c.order),
        payment: payment_out(&c.intent),
        next_action: c.next_action.clone(),
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// 1–100, default 20.
    pub limit: Option<u32>,
    /// Orders with ids below this one (the last id of the previous page).
    pub before: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderOut>,
}

/// Orders the caller may see, newest first: a buyer its own, a supplier those
/// with its products (its lines only), a clerk its store's, an operator all.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = OrderList)))]
async fn list_orders(
    State(s): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<ListQuery>,
) -> ApiResult<Json<OrderList>> {
    let limit = page_size(q.limit)?;
    let items = s
        .services
        .orders
        .list(&p, q.before.unwrap_or(0), limit)
        .await?;
    Ok(Json(OrderList {
        items: items.iter().map(order_out).collect(),
    }))
}

/// One order with its status history.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrderOut>> {
    let v = s.services.orders.view_for(&p, OrderId(id)).await?;
    Ok(Json(order_out(&v)))
}

/// Cancels an order before it ships: voids or refunds its payment, releases its stock.
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = OrderOut), (status = 409, body = ErrorBody)))]
async fn cancel_order(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<OrderOut>> {
    let v = s.services.orders.cancel(&p, OrderId(id)).await?;
    Ok(Json(order_out(&v)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    /// `allocate`, `ship`, `deliver` or `complete`.
    pub command: String,
}

/// Moves an order along fulfilment (operators; clerks of a fulfilling store).
/// An illegal move is 409 `illegal_transition`.
#[utoipa::path(post, path = "/api/v1/orders/{id}/transitions", tag = "orders", security(("bearer" = [])), request_body = TransitionIn,
    responses((status = 200, body = OrderOut), (status = 409, body = ErrorBody)))]
async fn transition(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Json(b): Json<TransitionIn>,
) -> ApiResult<Json<OrderOut>> {
    let cmd = match b.command.as_str() {
        "allocate" => OrderCommand::Allocate,
        "ship" => OrderCommand::Ship,
        "deliver" => OrderCommand::Deliver,
        "complete" => OrderCommand::Complete,
        c => {
            return Err(DomainError::invalid(format!(
                "Unknown command {c:?}: use allocate, ship, deliver or complete."
            ))
            .into())
        }
    };
    let v = s.services.orders.advance(&p, OrderId(id), cmd).await?;
    Ok(Json(order_out(&v)))
}

#[derive(Serialize, ToSchema)]
pub struct PostingOut {
    /// `capture`, `refund`, `refund_payout` or `late_payment` (a payment that
    /// came after the order was cancelled) per order — or empty in a trial balance.
    pub kind: String,
    /// e.g. `supplier_payable:3`, `platform_revenue`.
    pub account: String,
    pub currency: String,
    /// Debit positive, credit negative.
    pub amount_minor: i64,
}

/// The ledger postings of one order (operators).
#[utoipa::path(get, path = "/api/v1/orders/{id}/ledger", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = Vec<PostingOut>), (status = 403, body = ErrorBody)))]
async fn order_ledger(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<Vec<PostingOut>>> {
    let rows = s.services.orders.order_postings(&p, OrderId(id)).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(kind, p)| PostingOut {
                kind,
                account: p.account.name(),
                currency: p.currency.code().into(),
                amount_minor: p.amount_minor,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------- payments

/// A payment (its order's buyer, the order's clerks, operators).
#[utoipa::path(get, path = "/api/v1/payments/{id}", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PaymentOut), (status = 404, body = ErrorBody)))]
async fn get_payment(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PaymentOut>> {
    let i = s
        .services
        .orders
        .intent_visible(&p, PaymentIntentId(id))
        .await?;
    let mut out = payment_out(&i);
    out.qr_payload = s.services.orders.waiting_qr(&i);
    Ok(Json(out))
}

/// A clerk of the order's store (or an operator) confirms a cash or card
/// terminal payment: it is captured, once; a second confirmation is 409
/// `already_captured`.
#[utoipa::path(post, path = "/api/v1/payments/{id}/confirm", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PaymentOut), (status = 409, body = ErrorBody)))]
async fn confirm_payment(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PaymentOut>> {
    let i = s
        .services
        .orders
        .confirm_at_till(&p, PaymentIntentId(id))
        .await?;
    Ok(Json(payment_out(&i)))
}

/// The buyer is back from the wallet app: the server asks the provider and
/// captures if it was paid (never twice, whatever the webhook does). If the
/// order was cancelled meanwhile, the payment is refunded instead (once).
#[utoipa::path(post, path = "/api/v1/payments/{id}/return", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = PaymentOut), (status = 404, body = ErrorBody)))]
async fn payment_return(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
) -> ApiResult<Json<PaymentOut>> {
    let i = s
        .services
        .orders
        .buyer_return(&p, PaymentIntentId(id))
        .await?;
    Ok(Json(payment_out(&i)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundIn {
    /// Minor units; at most what is left to refund.
    pub amount_minor: i64,
}

/// Refunds part or all of a captured payment (operators). The ledger
/// reverses the capture in proportion.
#[utoipa::path(post, path = "/api/v1/payments/{id}/refunds", tag = "payments", security(("bearer" = [])), request_body = RefundIn,
    responses((status = 200, body = PaymentOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn refund_payment(
    State(s): State<AppState>,
    Auth(p): Auth,
    Path(id): Path<i64>,
    Json(b): Json<RefundIn>,
) -> ApiResult<Json<PaymentOut>> {
    let i = s
        .services
        .orders
        .refund(&p, PaymentIntentId(id), b.amount_minor)
        .await?;
    Ok(Json(payment_out(&i)))
}

#[derive(Serialize, ToSchema)]
pub struct WebhookOut {
    /// `captured`, `already_captured`, `refunded_late` (the payment came
    /// after the order was cancelled: it was refunded in full at once),
    /// `already_refunded`, `duplicate` or `ignored`.
    pub outcome: String,
}

/// A QR wallet's webhook (`alipay`, `wechat_pay`). Signed with HMAC-SHA256 in
/// `Souk-Signature: t=<ms>,v1=<hex of HMAC(secret, "t.body")>`; a bad
/// signature is 401 `invalid_signature`. Deliveries are deduplicated by `event_id`.
#[utoipa::path(post, path = "/api/v1/payments/webhooks/{provider}", tag = "payments",
    request_body(content = String, content_type = "application/json", description = "The provider's event: {event_id, type, provider_ref, amount_minor, currency}"),
    responses((status = 200, body = WebhookOut), (status = 401, body = ErrorBody)))]
async fn webhook(
    State(s): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<WebhookOut>> {
    let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    let outcome = s.services.orders.webhook(&provider, sig, &body).await?;
    Ok(Json(WebhookOut {
        outcome: outcome.as_str().into(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveIn {
    /// Send the webhook to souk in the background (default true). Tests turn
    /// it off to deliver the signed webhook themselves.
    #[serde(default)]
    pub deliver_webhook: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ApproveOut {
    /// The webhook body the sandbox provider sends.
    pub webhook_body: String,
    /// Its `Souk-Signature` header.
    pub signature: String,
}

/// The sandbox QR wallet: the payer approves the payment with this
/// provider reference (what scanning and paying in the wallet would do). The
/// sandbox then confirms to souk through the signed webhook.
#[utoipa::path(post, path = "/api/v1/sandbox/payments/{provider_ref}/approve", tag = "payments", request_body = ApproveIn,
    responses((status = 200, body = ApproveOut), (status = 404, body = ErrorBody)))]
async fn sandbox_approve(
    State(s): State<AppState>,
    Path(provider_ref): Path<String>,
    Json(b): Json<ApproveIn>,
) -> ApiResult<Json<ApproveOut>> {
    let orders = s.services.orders.clone();
    let i = orders.intent_by_ref(&provider_ref).await?;
    let (body, sig) = orders.sandbox_approve(&i)?;
    if b.deliver_webhook.unwrap_or(true) {
        let (body, sig, provider) = (body.clone(), sig.clone(), i.method.as_str());
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            if let Err(e) = orders.webhook(provider, Some(&sig), body.as_bytes()).await {
                tracing::warn!(error = %e, "sandbox webhook delivery failed");
            }
        });
    }
    Ok(Json(ApproveOut {
        webhook_body: body,
        signature: sig,
    }))
}

// ---------------------------------------------------------------- stored cards

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardIn {
    /// The provider's token for the card (never the card number).
    pub provider_token: String,
    pub brand: String,
    pub last4: String,
}

#[derive(Serialize, ToSchema)]
pub struct CardOut {
    pub id: i64,
    pub brand: String,
    pub last4: String,
    pub created_at_ms: i64,
}

fn card_out(c: &StoredCardRow) -> CardOut {
    CardOut {
        id: c.id.0,
        brand: c.brand.clone(),
        last4: c.last4.clone(),
        created_at_ms: c.created_at_ms,
    }
}

/// Saves a card token to be charged later (an auction win). Buyers only.
#[utoipa::path(post, path = "/api/v1/me/stored-cards", tag = "payments", security(("bearer" = [])), request_body = CardIn,
    responses((status = 201, body = CardOut), (status = 403, body = ErrorBody)))]
async fn save_card(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CardIn>,
) -> ApiResult<(StatusCode, Json<CardOut>)> {
    let c = s
        .services
        .orders
        .save_card(&p, b.provider_token, b.brand, b.last4)
        .await?;
    Ok((StatusCode::CREATED, Json(card_out(&c))))
}

/// The caller's saved cards.
#[utoipa::path(get, path = "/api/v1/me/stored-cards", tag = "payments", security(("bearer" = [])),
    responses((status = 200, body = Vec<CardOut>)))]
async fn list_cards(State(s): State<AppState>, Auth(p): Auth) -> ApiResult<Json<Vec<CardOut>>> {
    let cards = s.services.orders.cards(&p).await?;
    Ok(Json(cards.iter().map(card_out).collect()))
}

// ---------------------------------------------------------------- ledger

#[derive(Serialize, ToSchema)]
pub struct CurrencyTotal {
    pub currency: String,
    /// Always 0: every transaction balances.
    pub total_minor: i64,
}

#[derive(Serialize, ToSchema)]
pub struct TrialBalanceOut {
    pub accounts: Vec<PostingOut>,
    pub totals: Vec<CurrencyTotal>,
    pub balanced: bool,
}

/// Sum of the ledger per currency and account (operators). Each currency totals 0.
#[utoipa::path(get, path = "/api/v1/ledger/trial-balance", tag = "ledger", security(("bearer" = [])),
    responses((status = 200, body = TrialBalanceOut), (status = 403, body = ErrorBody)))]
async fn trial_balance(
    State(s): State<AppState>,
    Auth(p): Auth,
) -> ApiResult<Json<TrialBalanceOut>> {
    let tb = s.services.orders.trial_balance(&p).await?;
    let balanced = tb.totals.values().all(|v| *v == 0);
    if !balanced {
        tracing::error!(totals = ?tb.totals, "the ledger does not balance");
    }
    Ok(Json(TrialBalanceOut {
        accounts: tb
            .accounts
            .iter()
            .map(|p| PostingOut {
                kind: String::new(),
                account: p.account.name(),
                currency: p.currency.code().into(),
                amount_minor: p.amount_minor,
            })
            .collect(),
        totals: tb
            .totals
            .iter()
            .map(|(c, v)| CurrencyTotal {
                currency: c.code().into(),
                total_minor: *v,
            })
            .collect(),
        balanced,
    }))
}
