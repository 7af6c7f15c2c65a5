//! Carts and checkout with coupons and member tiers, through HTTP on both
//! databases: the cart keeps lines and codes and is priced by the server; a
//! checkout redeems its coupons in the order's transaction; a capture counts
//! towards the member's tier and a refund takes it back; a cancelled order
//! gives its coupon back; one cart makes one order even when checked out twice
//! at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/order_fixture.rs"]
mod fixture;

use common::TestApp;
use fixture::*;
use futures::future::join_all;
use serde_json::{json, Value};

fn deliver_qr() -> Value {
    json!({"fulfilment": {"type": "deliver", "region": "Shanghai"}, "payment_method": "alipay"})
}

async fn cart_lines_codes_and_checkout(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000301").await;

    // A new buyer's cart is empty and unpriced.
    let c = app
        .get("/api/v1/cart", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(c["lines"].as_array().unwrap().len(), 0, "{c}");
    assert!(c["quote"].is_null());

    // Lines: set, change, remove; prices come from the server.
    let c = app
        .put(
            &format!("/api/v1/cart/lines/{}", m.sku),
            Some(&buyer),
            json!({"qty": 3}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(c["lines"][0]["qty"], 3, "{c}");
    assert_eq!(c["lines"][0]["unit_price"]["amount_minor"], 10_000);
    assert_eq!(c["lines"][0]["title"], "Order Dress");
    assert_eq!(c["quote"]["total"]["amount_minor"], 30_000);
    app.put(
        &format!("/api/v1/cart/lines/{}", m.sku2),
        Some(&buyer),
        json!({"qty": 1}),
    )
    .await
    .expect(200);
    let c = app
        .put(
            &format!("/api/v1/cart/lines/{}", m.sku),
            Some(&buyer),
            json!({"qty": 1}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(c["lines"].as_array().unwrap().len(), 2);
    assert_eq!(c["quote"]["subtotal"]["amount_minor"], 20_000, "{c}");

    // Bad lines are refused and change nothing.
    for (sku, qty, status, code) in [
        (m.sku, -1, 422, "invalid_quantity"),
        (m.sku, 1_000_000_000, 422, "invalid_quantity"),
        (999_999, 1, 404, "not_found"),
    ] {
        app.put(
            &format!("/api/v1/cart/lines/{sku}"),
            Some(&buyer),
            json!({"qty": qty}),
        )
        .await
        .expect_error(status, code);
    }
    app.put(
        &format!("/api/v1/cart/lines/{}", m.sku),
        Some(&buyer),
        json!({"qty": 1, "unit_price_minor": 1}),
    )
    .await
    .expect_error(422, "invalid_body");
    // Only buyers have carts; without a token, nobody.
    app.get("/api/v1/cart", Some(&m.op))
        .await
        .expect_error(403, "forbidden");
    app.get("/api/v1/cart", None)
        .await
        .expect_error(401, "unauthenticated");

    // A coupon on the cart: ¥15 off.
    let code = shared_coupon(&app, &m.op, json!({})).await;
    let c = app
        .put(
            "/api/v1/cart/codes",
            Some(&buyer),
            json!({"codes": [code.to_lowercase()]}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(c["codes"], json!([code]), "{c}");
    assert_eq!(c["quote"]["discount_total"]["amount_minor"], 1_500);
    assert_eq!(c["quote"]["total"]["amount_minor"], 18_500);
    // An unknown code is refused; the good one stays.
    app.put(
        "/api/v1/cart/codes",
        Some(&buyer),
        json!({"codes": ["NOSUCHCODE1"]}),
    )
    .await
    .expect_error(404, "not_found");
    // A code whose minimum spend the cart misses is refused.
    let big = shared_coupon(&app, &m.op, json!({"min_spend_minor": 1_000_000})).await;
    app.put("/api/v1/cart/codes", Some(&buyer), json!({"codes": [big]}))
        .await
        .expect_error(422, "coupon_min_spend_not_met");
    let c = app
        .get("/api/v1/cart", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(c["codes"], json!([code]));

    // Checkout: the order carries the cart's lines and the coupon.
    let co = app
        .post("/api/v1/cart/checkout", Some(&buyer), deliver_qr())
        .await
        .expect(201)
        .json();
    assert_eq!(co["order"]["totals"]["discount_minor"], 1_500, "{co}");
    assert_eq!(co["order"]["totals"]["total_minor"], 18_500);
    assert_eq!(co["payment"]["amount_minor"], 18_500);
    assert_eq!(co["order"]["lines"].as_array().unwrap().len(), 2);
    // The cart is now empty; checking out again says so.
    let c = app
        .get("/api/v1/cart", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(c["lines"].as_array().unwrap().len(), 0, "{c}");
    app.post("/api/v1/cart/checkout", Some(&buyer), deliver_qr())
        .await
        .expect_error(422, "empty_cart");

    // A buyer who left the page gets the QR code again while it waits…
    let pay_path = format!("/api/v1/payments/{}", co["payment"]["id"]);
    let p = app.get(&pay_path, Some(&buyer)).await.expect(200).json();
    assert_eq!(p["qr_payload"], co["next_action"]["qr_payload"], "{p}");
    assert!(p["qr_payload"].as_str().unwrap().contains("amount=18500"));
    // Paying captures once; the ledger still balances (the coupon is the platform's cost).
    pay_by_qr(&app, &co).await;
    let p = app.get(&pay_path, Some(&buyer)).await.expect(200).json();
    assert!(p["qr_payload"].is_null(), "…and not once it is paid: {p}");
    trial_balance_is_zero(&app, &m.op).await;
    let o = app
        .get(
            &format!("/api/v1/orders/{}", co["order"]["id"]),
            Some(&buyer),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "paid");
}

async fn checkout_redeems_coupons_and_cancel_gives_them_back(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000302").await;
    // One redemption per buyer.
    let code = shared_coupon(&app, &m.op, json!({"per_buyer_limit": 1})).await;
    let mut body = qr_checkout(m.sku, 1);
    body["codes"] = json!([code]);
    let first = checkout(&app, &buyer, body.clone()).await;
    assert_eq!(
        first["order"]["totals"]["total_minor"],
        10_000 - 1_500 + 1_000,
        "{first}"
    );
    // Used up for this buyer: the second order is refused and reserves nothing.
    let before = stock(&app, &m.op, m.sku).await;
    app.post("/api/v1/checkout", Some(&buyer), body.clone())
        .await
        .expect_error(409, "coupon_limit_reached");
    assert_eq!(stock(&app, &m.op, m.sku).await, before);
    // Cancelling the unpaid order gives the coupon back.
    app.post(
        &format!("/api/v1/orders/{}/cancel", first["order"]["id"]),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect(200);
    let again = checkout(&app, &buyer, body).await;
    assert_eq!(again["order"]["totals"]["discount_minor"], 1_500);
    // A coupon for in-store use only is refused online.
    let in_store = shared_coupon(&app, &m.op, json!({"channel": "in_store"})).await;
    let mut body = qr_checkout(m.sku, 1);
    body["codes"] = json!([in_store]);
    app.post("/api/v1/checkout", Some(&buyer), body)
        .await
        .expect_error(422, "coupon_wrong_channel");
}

async fn captures_move_the_tier_and_refunds_move_it_back(app: TestApp) {
    let m = market(&app).await;
    receive(&app, &m.op, m.sku, m.warehouse, 40).await;
    let buyer = app.buyer("+8613700000303").await;
    async fn tier_of(app: &TestApp, buyer: &str) -> Value {
        app.get("/api/v1/me/tier", Some(buyer))
            .await
            .expect(200)
            .json()
    }
    assert_eq!(tier_of(&app, &buyer).await["tier"], "regular");

    // ¥2,000 paid makes silver (3 % off from then on).
    let co = checkout(&app, &buyer, qr_checkout(m.sku, 20)).await;
    assert_eq!(co["order"]["totals"]["total_minor"], 200_000);
    pay_by_qr(&app, &co).await;
    let t = tier_of(&app, &buyer).await;
    assert_eq!(t["tier"], "silver", "{t}");
    assert_eq!(t["spend_12m"]["amount_minor"], 200_000);

    // The next order gets the tier discount, priced by the server.
    let next = checkout(&app, &buyer, qr_checkout(m.sku, 2)).await;
    assert_eq!(next["order"]["totals"]["discount_minor"], 600, "{next}");
    assert_eq!(next["order"]["totals"]["total_minor"], 19_400);
    let c = app
        .put(
            &format!("/api/v1/cart/lines/{}", m.sku),
            Some(&buyer),
            json!({"qty": 1}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(c["quote"]["tier_discount"]["amount_minor"], 300, "{c}");

    // A partial refund takes that spend back: below ¥2,000 is regular again.
    app.post(
        &format!("/api/v1/payments/{}/refunds", co["payment"]["id"]),
        Some(&m.op),
        json!({"amount_minor": 1}),
    )
    .await
    .expect(200);
    let t = tier_of(&app, &buyer).await;
    assert_eq!(t["spend_12m"]["amount_minor"], 199_999, "{t}");
    assert_eq!(t["tier"], "regular");
    trial_balance_is_zero(&app, &m.op).await;
}

async fn one_cart_makes_one_order(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000304").await;
    for round in 0..3 {
        app.put(
            &format!("/api/v1/cart/lines/{}", m.sku),
            Some(&buyer),
            json!({"qty": 1}),
        )
        .await
        .expect(200);
        let replies =
            join_all((0..8).map(|_| app.post("/api/v1/cart/checkout", Some(&buyer), deliver_qr())))
                .await;
        let made = replies.iter().filter(|r| r.status.as_u16() == 201).count();
        assert_eq!(made, 1, "round {round}: one cart, one order");
        for r in replies.iter().filter(|r| r.status.as_u16() != 201) {
            assert!(
                matches!(r.code().as_str(), "empty_cart" | "illegal_transition"),
                "round {round}: {} {}",
                r.status,
                r.code()
            );
        }
    }
    // Only the three orders' units are held.
    assert_eq!(stock(&app, &m.op, m.sku).await.1, 3);
}

on_both_databases!(
    cart_lines_codes_and_checkout,
    checkout_redeems_coupons_and_cancel_gives_them_back,
    captures_move_the_tier_and_refunds_move_it_back,
    one_cart_makes_one_order,
);
