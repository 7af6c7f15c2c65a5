//! Payments through HTTP on both databases: webhook signatures and
//! deduplication, partial refunds and the trial balance, stored cards.
//! Concurrent captures (webhooks, buyer returns, till confirmations) are
//! raced in `races.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "common/order_fixture.rs"]
mod fixture;

use common::TestApp;
use fixture::*;
use serde_json::json;
use souk_engine::Clock;

async fn webhook_signatures_are_checked(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000201").await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    let forged =
        souk_engine::payments::sign("not-the-secret", app.clock.now_ms(), body.as_bytes()).unwrap();
    webhook(&app, "alipay", &body, &forged)
        .await
        .expect_error(401, "invalid_signature");
    webhook(&app, "alipay", &body, "t=1,v1=00")
        .await
        .expect_error(401, "invalid_signature");
    let tampered = body.replace("\"amount_minor\":10000", "\"amount_minor\":1");
    assert_ne!(tampered, body);
    webhook(&app, "alipay", &tampered, &sig)
        .await
        .expect_error(401, "invalid_signature");
    // No header at all.
    app.post_raw(
        "/api/v1/payments/webhooks/alipay",
        None,
        "application/json",
        body.clone().into_bytes(),
    )
    .await
    .expect_error(401, "invalid_signature");
    // The right signature, but for the other wallet.
    webhook(&app, "wechat_pay", &body, &sig)
        .await
        .expect_error(404, "not_found");
    webhook(&app, "paypal", &body, &sig)
        .await
        .expect_error(404, "not_found");
    // An old signature is a replay.
    app.clock
        .advance_ms(souk_engine::payments::SIGNATURE_TOLERANCE_MS + 1000);
    webhook(&app, "alipay", &body, &sig)
        .await
        .expect_error(401, "invalid_signature");
    assert_eq!(captures(&app, pay).await, 0);
    let fresh = souk_engine::payments::sign(
        souk_engine::payments::SANDBOX_WEBHOOK_SECRET,
        app.clock.now_ms(),
        body.as_bytes(),
    )
    .unwrap();
    let w = webhook(&app, "alipay", &body, &fresh)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "captured");
    assert_eq!(captures(&app, pay).await, 1);
}

async fn duplicate_deliveries_capture_once(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000202").await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    let first = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(first["outcome"], "captured");
    for _ in 0..3 {
        let again = webhook(&app, "alipay", &body, &sig)
            .await
            .expect(200)
            .json();
        assert_eq!(again["outcome"], "duplicate");
    }
    assert_eq!(captures(&app, pay).await, 1);
    trial_balance_is_zero(&app, &m.op).await;
    let tb = app
        .get("/api/v1/ledger/trial-balance", Some(&m.op))
        .await
        .expect(200)
        .json();
    let clearing: i64 = tb["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["account"] == "buyer_payments_clearing")
        .map(|a| a["amount_minor"].as_i64().unwrap())
        .sum();
    assert_eq!(clearing, 10_000, "captured once: {tb}");
}

async fn partial_refunds_keep_the_ledger_balanced(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000204").await;
    // 3 × 100.00 + 1 × 100.00 across one supplier, paid by the wallet.
    let c = checkout(
        &app,
        &buyer,
        json!({"lines": [{"sku_id": m.sku, "qty": 3}, {"sku_id": m.sku2, "qty": 1}],
               "fulfilment": {"type": "deliver"}, "payment_method": "wechat_pay"}),
    )
    .await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    webhook(&app, "wechat_pay", &body, &sig).await.expect(200);
    // Only operators refund.
    app.post(
        &format!("/api/v1/payments/{pay}/refunds"),
        Some(&buyer),
        json!({"amount_minor": 1}),
    )
    .await
    .expect_error(403, "forbidden");
    for (amount, state) in [
        (333, "partially_refunded"),
        (10_001, "partially_refunded"),
        (7, "partially_refunded"),
    ] {
        let p = app
            .post(
                &format!("/api/v1/payments/{pay}/refunds"),
                Some(&m.op),
                json!({"amount_minor": amount}),
            )
            .await
            .expect(200)
            .json();
        assert_eq!(p["state"], state);
        trial_balance_is_zero(&app, &m.op).await;
    }
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "partially_refunded");
    assert_eq!(o["totals"]["refunded_minor"].as_i64(), Some(10_341));
    // More than is left is refused; zero too.
    for bad in [40_000 - 10_341 + 1, 0, -5] {
        app.post(
            &format!("/api/v1/payments/{pay}/refunds"),
            Some(&m.op),
            json!({"amount_minor": bad}),
        )
        .await
        .expect_error(422, "invalid_amount");
    }
    // Refund the rest: the order is refunded and its stock released.
    let p = app
        .post(
            &format!("/api/v1/payments/{pay}/refunds"),
            Some(&m.op),
            json!({"amount_minor": 40_000 - 10_341}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(p["state"], "refunded");
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "refunded");
    assert_eq!(stock(&app, &m.op, m.sku).await.1, 0);
    app.post(
        &format!("/api/v1/payments/{pay}/refunds"),
        Some(&m.op),
        json!({"amount_minor": 1}),
    )
    .await
    .expect_error(409, "illegal_transition");
    // Every account of this order's postings nets to zero after a full refund.
    let ledger = app
        .get(&format!("/api/v1/orders/{order}/ledger"), Some(&m.op))
        .await
        .expect(200)
        .json();
    let mut net = std::collections::BTreeMap::new();
    for p in ledger.as_array().unwrap() {
        *net.entry(p["account"].as_str().unwrap().to_owned())
            .or_insert(0_i64) += p["amount_minor"].as_i64().unwrap();
    }
    assert!(net.values().all(|v| *v == 0), "{net:?}");

    // Cancelling a paid order refunds it in full.
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    webhook(&app, "alipay", &body, &sig).await.expect(200);
    let o = app
        .post(
            &format!("/api/v1/orders/{}/cancel", c["order"]["id"]),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled");
    assert_eq!(o["payments"][0]["state"], "refunded");
    assert_eq!(stock(&app, &m.op, m.sku).await.1, 0);
    let tb = trial_balance_is_zero(&app, &m.op).await;
    for a in tb["accounts"].as_array().unwrap() {
        assert_eq!(
            a["amount_minor"].as_i64(),
            Some(0),
            "everything was refunded: {tb}"
        );
    }
}

async fn stored_card_is_charged_at_checkout(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000206").await;
    let other = app.buyer("+8613700000207").await;
    let card = app
        .post(
            "/api/v1/me/stored-cards",
            Some(&buyer),
            json!({"provider_token": "tok_sandbox_visa", "brand": "visa", "last4": "4242"}),
        )
        .await
        .expect(201)
        .json();
    let cards = app
        .get("/api/v1/me/stored-cards", Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(cards.as_array().unwrap().len(), 1);
    assert!(
        cards[0].get("provider_token").is_none(),
        "tokens never leave the server"
    );
    let body = json!({"lines": [{"sku_id": m.sku, "qty": 1}], "fulfilment": {"type": "deliver"},
                      "payment_method": "stored_card", "stored_card_id": card["id"]});
    // Another buyer cannot charge this card.
    app.post("/api/v1/checkout", Some(&other), body.clone())
        .await
        .expect_error(404, "not_found");
    let c = checkout(&app, &buyer, body).await;
    assert_eq!(c["payment"]["state"], "captured", "{c}");
    assert_eq!(c["order"]["state"], "paid");
    assert_eq!(c["next_action"]["type"], "none");
    app.post(
        "/api/v1/me/stored-cards",
        Some(&buyer),
        json!({"provider_token": "tok", "brand": "visa", "last4": "42x2"}),
    )
    .await
    .expect_error(422, "invalid_field");
    trial_balance_is_zero(&app, &m.op).await;
}

on_both_databases!(
    webhook_signatures_are_checked,
    duplicate_deliveries_capture_once,
    partial_refunds_keep_the_ledger_balanced,
    stored_card_is_charged_at_checkout,
);
