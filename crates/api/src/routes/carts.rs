//! A buyer's cart: lines and coupon codes on the server, priced on every
//! view, checked out into one order. Thin: the work is in
//! `souk_engine::carts`.

use crate::auth::Auth;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Json, Path};
use crate::routes::catalog::title_of;
use crate::routes::coupons::QuoteDto;
use crate::routes::dto::PriceDto;
use crate::routes::orders::{
    checkout_channel, checkout_out, parse_method, CheckoutOut, HandoverIn,
};
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use souk_core::ids::{LocationId, SkuId, StoredCardId};
use souk_core::money::Money;
use souk_engine::carts::{CartCheckout, CartView};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_cart))
        .routes(routes!(set_line))
        .routes(routes!(set_codes))
        .routes(routes!(checkout_cart))
}

#[derive(Serialize, ToSchema)]
pub struct CartLineOut {
    pub sku_id: i64,
    pub product_id: i64,
    pub title: String,
    pub sku_code: String,
    pub qty: i64,
    /// Today's list price (`None` when the SKU has no price in the cart's currency).
    pub unit_price: Option<PriceDto>,
    pub amount: Option<PriceDto>,
}

#[derive(Serialize, ToSchema)]
pub struct CartProblem {
    pub code: &'static str,
    pub message: String,
}

/// The cart with its price now. `quote` is null for an empty cart, or with
/// `problem` saying why the cart cannot be priced as it stands.
#[derive(Serialize, ToSchema)]
pub struct CartOut {
    pub currency: String,
    pub lines: Vec<CartLineOut>,
    pub codes: Vec<String>,
    pub quote: Option<QuoteDto>,
    pub problem: Option<CartProblem>,
}

fn cart_out(headers: &HeaderMap, v: &CartView, currency: souk_core::money::Currency) -> CartOut {
    CartOut {
        currency: currency.code().to_owned(),
        lines: v
            .lines
            .iter()
            .map(|l| {
                let sku = l.product.skus.iter().find(|s| s.id == l.sku);
                let unit = sku.and_then(|s| s.prices.iter().find(|m| m.currency == currency));
                CartLineOut {
                    sku_id: l.sku.0,
                    product_id: l.product.id.0,
                    title: title_of(headers, &l.product),
                    sku_code: sku.map(|s| s.code.clone()).unwrap_or_default(),
                    qty: l.qty,
                    unit_price: unit.map(PriceDto::from),
                    amount: unit.and_then(|u| {
                        u.amount_minor.checked_mul(l.qty).map(|a| {
                            PriceDto::from(&Money {
                                amount_minor: a,
                                currency,
                            })
                        })
                    }),
                }
            })
            .collect(),
        codes: v.codes.clone(),
        quote: v.quote.as_ref().map(QuoteDto::from),
        problem: v.problem.as_ref().map(|e| CartProblem {
            code: e.code.as_str(),
            message: e.message.clone(),
        }),
    }
}

fn currency(s: &AppState) -> souk_core::money::Currency {
    s.services.coupons.market().currency
}

/// The caller's cart, priced now (tier discount, coupons, shipping, tax).
#[utoipa::path(get, path = "/api/v1/cart", tag = "orders", security(("bearer" = [])),
    responses((status = 200, body = CartOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn get_cart(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
) -> ApiResult<Json<CartOut>> {
    let v = s.services.carts.view(&p).await?;
    Ok(Json(cart_out(&headers, &v, currency(&s))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QtyIn {
    /// 0 takes the line out.
    pub qty: i64,
}

/// Sets how many of a SKU the cart holds (0 removes the line).
#[utoipa::path(put, path = "/api/v1/cart/lines/{sku_id}", tag = "orders", security(("bearer" = [])),
    params(("sku_id" = i64, Path)), request_body = QtyIn,
    responses((status = 200, body = CartOut), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_line(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Path(sku_id): Path<i64>,
    Json(b): Json<QtyIn>,
) -> ApiResult<Json<CartOut>> {
    let v = s.services.carts.set_line(&p, SkuId(sku_id), b.qty).await?;
    Ok(Json(cart_out(&headers, &v, currency(&s))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesIn {
    /// The coupon codes to use (replaces those on the cart; empty clears).
    pub codes: Vec<String>,
}

/// Puts coupon codes on the cart. A code that cannot be used on this cart now
/// is refused with its reason, and the cart is unchanged.
#[utoipa::path(put, path = "/api/v1/cart/codes", tag = "orders", security(("bearer" = [])), request_body = CodesIn,
    responses((status = 200, body = CartOut), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn set_codes(
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: HeaderMap,
    Json(b): Json<CodesIn>,
) -> ApiResult<Json<CartOut>> {
    let v = s.services.carts.set_codes(&p, b.codes).await?;
    Ok(Json(cart_out(&headers, &v, currency(&s))))
}

/// How to check the cart out; its lines and codes come from the cart.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartCheckoutIn {
    /// `web` (default), `app` or `scan_to_order`.
    #[serde(default)]
    pub channel: Option<String>,
    pub fulfilment: HandoverIn,
    /// `alipay`, `wechat_pay`, `cash`, `card_terminal` or `stored_card`.
    pub payment_method: String,
    #[serde(default)]
    pub stored_card_id: Option<i64>,
    #[serde(default)]
    pub origin_location_id: Option<i64>,
}

/// Checks the cart out into one order (priced again on the server, stock
/// reserved, coupons redeemed, payment started); the cart is then empty.
#[utoipa::path(post, path = "/api/v1/cart/checkout", tag = "orders", security(("bearer" = [])), request_body = CartCheckoutIn,
    responses((status = 201, body = CheckoutOut), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn checkout_cart(
    State(s): State<AppState>,
    Auth(p): Auth,
    Json(b): Json<CartCheckoutIn>,
) -> ApiResult<(StatusCode, Json<CheckoutOut>)> {
    let how = CartCheckout {
        channel: checkout_channel(b.channel.as_deref())?,
        handover: b.fulfilment.into(),
        method: parse_method(&b.payment_method)?,
        stored_card: b.stored_card_id.map(StoredCardId),
        origin_location: b.origin_location_id.map(LocationId),
    };
    let c = s.services.carts.checkout(&p, how).await?;
    Ok((StatusCode::CREATED, Json(checkout_out(&c))))
}
