//! Payments through HTTP on both databases: webhook signatures and
//! deduplication, partial refunds and the trial balance, stored cards, and
//! late payments (confirmed after the order was cancelled: refunded once).
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

/// A `payment.succeeded` event for `payment` (a PaymentOut) with its own
/// event id, signed now: what a wallet sends when it redelivers under a new id.
fn signed_event(app: &TestApp, event_id: &str, payment: &serde_json::Value) -> (String, String) {
    let body = serde_json::to_string(&souk_engine::payments::WebhookEvent {
        event_id: event_id.to_owned(),
        kind: "payment.succeeded".into(),
        provider_ref: payment["provider_ref"].as_str().unwrap().to_owned(),
        amount_minor: payment["amount_minor"].as_i64().unwrap(),
        currency: souk_core::money::Currency::parse(payment["currency"].as_str().unwrap()).unwrap(),
    })
    .unwrap();
    let sig = souk_engine::payments::sign(
        souk_engine::payments::SANDBOX_WEBHOOK_SECRET,
        app.clock.now_ms(),
        body.as_bytes(),
    )
    .unwrap();
    (body, sig)
}

/// Ledger transactions of `kind` for an order.
async fn txns(app: &TestApp, order: i64, kind: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM ledger_txns WHERE order_id = $1 AND kind = $2")
        .bind(order)
        .bind(kind.to_owned())
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

/// Rows of a payment's events going to `to` from a source.
async fn payment_events(app: &TestApp, pay: i64, to: &str, source: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM payment_events WHERE intent_id = $1 AND to_state = $2 AND source = $3",
    )
    .bind(pay)
    .bind(to.to_owned())
    .bind(source.to_owned())
    .fetch_one(app.services.db.pool())
    .await
    .unwrap()
}

/// What the Alipay sandbox paid back for a payment.
fn wallet_refunded(app: &TestApp, payment: &serde_json::Value) -> i64 {
    app.services
        .orders
        .sandbox_qr(souk_core::payment::Method::Alipay)
        .unwrap()
        .refunded_minor(payment["provider_ref"].as_str().unwrap())
}

/// Member spend rows a payment recorded (capture or refund).
async fn spend_rows(app: &TestApp, pay: i64, amount: i64) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM member_spend WHERE source_ref IN ($1, $2)")
        .bind(format!("capture:{pay}"))
        .bind(format!("refund:{pay}:{amount}"))
        .fetch_one(app.services.db.pool())
        .await
        .unwrap()
}

/// The order's late payment and its refund in the ledger: money in to
/// clearing and straight out again; nothing else; every account nets to 0.
async fn ledger_shows_money_in_and_out(app: &TestApp, op: &str, order: i64, amount: i64) {
    let ledger = app
        .get(&format!("/api/v1/orders/{order}/ledger"), Some(op))
        .await
        .expect(200)
        .json();
    let mut got: Vec<(String, String, i64)> = ledger
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["account"].as_str().unwrap().to_owned(),
                p["amount_minor"].as_i64().unwrap(),
            )
        })
        .collect();
    got.sort();
    let want = |k: &str, a: &str, v: i64| (k.to_owned(), a.to_owned(), v);
    let mut expected = vec![
        want("late_payment", "buyer_payments_clearing", amount),
        want("late_payment", "refunds", -amount),
        want("refund_payout", "refunds", amount),
        want("refund_payout", "buyer_payments_clearing", -amount),
    ];
    expected.sort();
    assert_eq!(got, expected, "{ledger}");
    assert_eq!(txns(app, order, "late_payment").await, 1);
    assert_eq!(txns(app, order, "refund_payout").await, 1);
    assert_eq!(txns(app, order, "capture").await, 0);
}

async fn a_payment_after_cancellation_is_refunded_once(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000208").await;
    let before = stock(&app, &m.op, m.sku).await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    let amount = c["payment"]["amount_minor"].as_i64().unwrap();
    assert_eq!(amount, 10_000);
    // The payer approves in the wallet; its webhook is held up in transit...
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    // ...while the buyer cancels: the payment is voided, the stock released.
    let o = app
        .post(
            &format!("/api/v1/orders/{order}/cancel"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled");
    assert_eq!(o["payments"][0]["state"], "voided");
    let history = o["history"].as_array().unwrap().len();
    assert_eq!(stock(&app, &m.op, m.sku).await, before);

    // The webhook arrives: accepted, and the money goes straight back.
    let w = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "refunded_late", "{w}");
    assert_eq!(
        wallet_refunded(&app, &c["payment"]),
        amount,
        "refunded in full"
    );
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled", "{o}");
    assert_eq!(o["history"].as_array().unwrap().len(), history, "{o}");
    assert_eq!(o["payments"][0]["state"], "refunded", "{o}");
    assert_eq!(o["payments"][0]["refunded_minor"].as_i64(), Some(amount));
    assert_eq!(o["totals"]["captured_minor"].as_i64(), Some(amount), "{o}");
    assert_eq!(o["totals"]["refunded_minor"].as_i64(), Some(amount), "{o}");
    // The payment's events show the money coming in and going back.
    assert_eq!(payment_events(&app, pay, "voided", "webhook_late").await, 1);
    assert_eq!(
        payment_events(&app, pay, "refunded", "refund_late").await,
        1
    );
    assert_eq!(captures(&app, pay).await, 0, "never captured");
    ledger_shows_money_in_and_out(&app, &m.op, order, amount).await;
    trial_balance_is_zero(&app, &m.op).await;
    assert_eq!(stock(&app, &m.op, m.sku).await, before, "stock untouched");
    assert_eq!(spend_rows(&app, pay, amount).await, 0, "no member spend");

    // The same event again is a duplicate.
    let w = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "duplicate", "{w}");
    // Another event for the same payment, and the buyer's return, find it
    // already refunded and refund nothing more.
    let (body2, sig2) = signed_event(&app, "evt_late_again", &c["payment"]);
    let w = webhook(&app, "alipay", &body2, &sig2)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "already_refunded", "{w}");
    let r = app
        .post(
            &format!("/api/v1/payments/{pay}/return"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["state"], "refunded", "{r}");
    assert_eq!(r["refunded_minor"].as_i64(), Some(amount));
    assert_eq!(
        wallet_refunded(&app, &c["payment"]),
        amount,
        "refunded once"
    );
    assert_eq!(
        payment_events(&app, pay, "refunded", "refund_late").await,
        1
    );
    ledger_shows_money_in_and_out(&app, &m.op, order, amount).await;
    trial_balance_is_zero(&app, &m.op).await;
    assert_eq!(stock(&app, &m.op, m.sku).await, before);

    // A late webhook whose amount or currency differs is still refused.
    let mut other = c["payment"].clone();
    other["amount_minor"] = json!(amount - 1);
    let (bad, bad_sig) = signed_event(&app, "evt_late_wrong_amount", &other);
    webhook(&app, "alipay", &bad, &bad_sig)
        .await
        .expect_error(422, "invalid_amount");
    other["amount_minor"] = json!(amount);
    other["currency"] = json!("USD");
    let (bad, bad_sig) = signed_event(&app, "evt_late_wrong_currency", &other);
    webhook(&app, "alipay", &bad, &bad_sig)
        .await
        .expect_error(422, "invalid_amount");
    assert_eq!(wallet_refunded(&app, &c["payment"]), amount);
}

async fn a_payment_after_the_unpaid_sweep_is_refunded_on_return(app: TestApp) {
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000209").await;
    let before = stock(&app, &m.op, m.sku).await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    let amount = c["payment"]["amount_minor"].as_i64().unwrap();
    // Left unpaid past the window: the sweep cancels it (this call, or the
    // background sweep if its tick came first).
    app.clock
        .advance_ms(souk_engine::orders::PAYMENT_WINDOW_MS + 60_000);
    app.services.orders.cancel_unpaid().await.unwrap();
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled");
    assert_eq!(o["payments"][0]["state"], "voided");
    // Then the payer pays in the wallet and comes back first.
    let (body, sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    let r = app
        .post(
            &format!("/api/v1/payments/{pay}/return"),
            Some(&buyer),
            json!({}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(r["state"], "refunded", "{r}");
    assert_eq!(payment_events(&app, pay, "voided", "return_late").await, 1);
    // The wallet's webhook follows: already handled.
    let w = webhook(&app, "alipay", &body, &sig)
        .await
        .expect(200)
        .json();
    assert_eq!(w["outcome"], "already_refunded", "{w}");
    assert_eq!(wallet_refunded(&app, &c["payment"]), amount);
    ledger_shows_money_in_and_out(&app, &m.op, order, amount).await;
    trial_balance_is_zero(&app, &m.op).await;
    let o = app
        .get(&format!("/api/v1/orders/{order}"), Some(&buyer))
        .await
        .expect(200)
        .json();
    assert_eq!(o["state"], "cancelled");
    assert_eq!(stock(&app, &m.op, m.sku).await, before);
    assert_eq!(spend_rows(&app, pay, amount).await, 0);
}

async fn concurrent_late_deliveries_refund_once(app: TestApp) {
    const DELIVERIES: usize = 20;
    let m = market(&app).await;
    let buyer = app.buyer("+8613700000210").await;
    let c = checkout(&app, &buyer, qr_checkout(m.sku, 1)).await;
    let pay = c["payment"]["id"].as_i64().unwrap();
    let order = c["order"]["id"].as_i64().unwrap();
    let amount = c["payment"]["amount_minor"].as_i64().unwrap();
    let (first, first_sig) = approve(&app, c["payment"]["provider_ref"].as_str().unwrap()).await;
    app.post(
        &format!("/api/v1/orders/{order}/cancel"),
        Some(&buyer),
        json!({}),
    )
    .await
    .expect(200);
    // 20 deliveries at once: the sandbox's event twice, 14 other events and
    // 4 buyer returns.
    let mut events = vec![(first.clone(), first_sig.clone()), (first, first_sig)];
    for e in 0..14 {
        events.push(signed_event(
            &app,
            &format!("evt_late_race_{e}"),
            &c["payment"],
        ));
    }
    let webhooks = events.iter().map(|(b, s)| {
        let app = &app;
        async move {
            let r = webhook(app, "alipay", b, s).await.expect(200).json();
            r["outcome"].as_str().unwrap().to_owned()
        }
    });
    let returns = (0..DELIVERIES - events.len()).map(|_| {
        let (app, buyer) = (&app, &buyer);
        async move {
            let r = app
                .post(
                    &format!("/api/v1/payments/{pay}/return"),
                    Some(buyer),
                    json!({}),
                )
                .await
                .expect(200)
                .json();
            format!("return:{}", r["state"].as_str().unwrap())
        }
    });
    let (hooks, rets) = futures::future::join(
        futures::future::join_all(webhooks),
        futures::future::join_all(returns),
    )
    .await;
    let refunded_here = hooks.iter().filter(|o| *o == "refunded_late").count();
    assert!(refunded_here <= 1, "{hooks:?}");
    for o in &hooks {
        assert!(
            ["refunded_late", "already_refunded", "duplicate"].contains(&o.as_str()),
            "{hooks:?}"
        );
    }
    assert!(rets.iter().all(|r| r == "return:refunded"), "{rets:?}");
    // Exactly one refund, whoever won: one pair of ledger transactions, one
    // refund event, one provider refund.
    assert_eq!(wallet_refunded(&app, &c["payment"]), amount, "{hooks:?}");
    let late = payment_events(&app, pay, "voided", "webhook_late").await
        + payment_events(&app, pay, "voided", "return_late").await;
    assert_eq!(late, 1);
    assert_eq!(
        refunded_here as i64,
        payment_events(&app, pay, "voided", "webhook_late").await
    );
    assert_eq!(
        payment_events(&app, pay, "refunded", "refund_late").await,
        1
    );
    ledger_shows_money_in_and_out(&app, &m.op, order, amount).await;
    trial_balance_is_zero(&app, &m.op).await;
    assert_eq!(captures(&app, pay).await, 0);
}

on_both_databases!(
    webhook_signatures_are_checked,
    duplicate_deliveries_capture_once,
    partial_refunds_keep_the_ledger_balanced,
    stored_card_is_charged_at_checkout,
    a_payment_after_cancellation_is_refunded_once,
    a_payment_after_the_unpaid_sweep_is_refunded_on_return,
    concurrent_late_deliveries_refund_once,
);
