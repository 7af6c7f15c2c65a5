//! The till (POS) of a store: ring up a sale from shelf stock, take cash,
//! card or QR, redeem coupons, attach a member by phone, print a receipt.
//! Thin: the work is in `souk_engine::orders` (its `pos` part).

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::catalog::title_of;
use crate::routes::orders::{order_out, parse_method, payment_out, LineIn, OrderOut, PaymentOut};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use souk_core::ids::{LocationId, OrderId, SkuId};
use souk_core::order::LineRequest;
use souk_core::phone::Phone;
use souk_core::receipt::{utc_minute, ReceiptLine, ReceiptText};
use souk_engine::orders::{PosSaleRequest, Receipt};
use souk_engine::payments::NextAction;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ring_up))
        .routes(routes!(get_receipt))
}

/// A sale at the till.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PosSaleIn {
    /// The store selling (one the clerk works at).
    pub location_id: i64,
    pub lines: Vec<LineIn>,
    /// `cash`, `card_terminal`, `alipay` or `wechat_pay`.
    pub payment_method: String,
    /// The member the sale is for, by phone (their tier discount applies).
    #[serde(default)]
    pub member_phone: Option<String>,
    #[serde(default)]
    pub codes: Vec<String>,
    /// Cash handed over (cash only); the change is on the receipt.
    #[serde(default)]
    pub cash_tendered_minor: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptLineOut {
    pub sku_id: i64,
    pub sku_code: String,
    pub title: String,
    pub qty: i64,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptStore {
    pub id: i64,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptMember {
    pub phone_masked: String,
    pub tier: Option<&'static str>,
}

/// What the receipt shows; `text` is the same, ready for a receipt printer.
#[derive(Serialize, ToSchema)]
pub struct ReceiptOut {
    pub receipt_no: String,
    pub order_id: i64,
    pub location: ReceiptStore,
    pub clerk_id: i64,
    pub at_ms: i64,
    pub currency: String,
    pub lines: Vec<ReceiptLineOut>,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub payment_method: String,
    pub payment_state: String,
    pub tendered_minor: Option<i64>,
    pub change_minor: Option<i64>,
    pub member: Option<ReceiptMember>,
    pub codes: Vec<String>,
    pub text: String,
}

#[derive(Serialize, ToSchema)]
pub struct PosSaleOut {
    pub order: OrderOut,
    pub payment: PaymentOut,
    /// `none` when settled; `scan_qr` (with `qr_payload`) for a wallet.
    #[schema(value_type = Object)]
    pub next_action: NextAction,
    /// Present once the sale is paid.
    pub receipt: Option<ReceiptOut>,
}

fn receipt_out(headers: &HeaderMap, r: &Receipt) -> ReceiptOut {
    let o = &r.order;
    let receipt_no = format!("R-{}-{}", r.location.id, o.id);
    let lines: Vec<ReceiptLineOut> = r
        .lines
        .iter()
        .map(|(l, product)| ReceiptLineOut {
            sku_id: l.sku.0,
            sku_code: product
                .skus
                .iter()
                .find(|s| s.id == l.sku)
                .map(|s| s.code.clone())
                .unwrap_or_default(),
            title: title_of(headers, product),
            qty: l.qty,
            unit_price_minor: l.unit_price_minor,
            amount_minor: l.amount_minor,
        })
        .collect();
    let member = r.till.member.map(|_| ReceiptMember {
        phone_masked: r
            .member_phone
            .as_deref()
            .and_then(|p| Phone::parse(p).ok())
            .map(|p| p.masked())
            .unwrap_or_default(),
        tier: r.member_tier.map(|t| t.as_str()),
    });
    let when = utc_minute(r.till.created_at_ms);
    let text = ReceiptText {
        store: &r.location.name,
        receipt_no: &receipt_no,
        when: &when,
        currency: o.currency,
        lines: lines
            .iter()
            .map(|l| ReceiptLine {
                title: &l.title,
                code: &l.sku_code,
                qty: l.qty,
                unit_minor: l.unit_price_minor,
                amount_minor: l.amount_minor,
            })
            .collect(),
        subtotal_minor: o.subtotal_minor,
        discount_minor: o.discount_minor,
        tax_minor: o.tax_minor,
        total_minor: o.total_minor,
        method: r.intent.method.as_str(),
        tendered_minor: r.till.tendered_minor,
        change_minor: r.till.change_minor,
        member: member.as_ref().map(|m| m.phone_masked.as_str()),
        codes: &r.till.codes,
    }
    .render();
    ReceiptOut {
        receipt_no,
        order_id: o.id.0,
        location: ReceiptStore {
            id: r.location.id.0,
            name: r.location.name.clone(),
        },
        clerk_id: r.till.clerk.0,
        at_ms: r.till.created_at_ms,
        currency: o.currency.code().into(),
        lines,
        subtotal_minor: o.subtotal_minor,
        discount_minor: o.discount_minor,
        tax_minor: o.tax_minor,
        total_minor: o.total_minor,
        payment_method: r.intent.method.as_str().into(),
        payment_state: r.intent.state.as_str().into(),
        tendered_minor: r.till.tendered_minor,
        change_minor: r.till.change_minor,
        member,
        codes: r.till.codes.clone(),
        text,
    }
}

/// Rings up a sale at the till. The goods leave the store's on-hand at once
/// (`pos_sale` movements). Cash and card-terminal sales are paid and
/// completed in this call and come back with the receipt; a QR sale comes
/// back with `next_action` and completes when the wallet confirms.
#[utoipa::path(post, path = "/api/v1/pos/sales", tag = "pos", security(("bearer" = [])), request_body = PosSaleIn,
    responses((status = 201, body = PosSaleOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn ring_up(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<PosSaleIn>,
) -> ApiResult<(StatusCode, Json<PosSaleOut>)> {
    let member = match b.member_phone.as_deref() {
        Some(ph) => Some(s.services.coupons.member_by_phone(ph).await?),
        None => None,
    };
    let sale = s
        .services
        .orders
        .pos_sale(
            &p,
            PosSaleRequest {
                location: LocationId(b.location_id),
                lines: b
                    .lines
                    .iter()
                    .map(|l| LineRequest {
                        sku: SkuId(l.sku_id),
                        qty: l.qty,
                    })
                    .collect(),
                method: parse_method(&b.payment_method)?,
                member,
                codes: b.codes,
                tendered_minor: b.cash_tendered_minor,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PosSaleOut {
            order: order_out(&sale.order),
            payment: payment_out(&sale.intent),
            next_action: sale.next_action,
            receipt: sale.receipt.as_ref().map(|r| receipt_out(&headers, r)),
        }),
    ))
}

/// The receipt of a paid till sale (the store's clerks, operators, the member).
#[utoipa::path(get, path = "/api/v1/pos/sales/{order_id}/receipt", tag = "pos", security(("bearer" = [])),
    params(("order_id" = i64, Path)),
    responses((status = 200, body = ReceiptOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn get_receipt(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(order_id): Path<i64>,
) -> ApiResult<Json<ReceiptOut>> {
    let r = s.services.orders.receipt(&p, OrderId(order_id)).await?;
    Ok(Json(receipt_out(&headers, &r)))
}
